import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discover, formatMonitoringTarget, parseMonitoringTarget } from "../../exporter/slurm/discovery";
import { countArrayTasks, countGpus, expandHostlist } from "../../exporter/slurm/gres";
import { nodeState, parseSinfo, parseSqueue } from "../../exporter/slurm/model";

const fixture = (name: string): string => readFileSync(path.join(__dirname, "fixtures", name), "utf8");

describe("Slurm 22.05 output as recorded from the test cluster", () => {
  it("reads nodes: address, state, CPUs and GPU GRES in use", () => {
    expect(parseSinfo(fixture("sinfo-22.05.json"))).toEqual([
      {
        name: "gpu-node-1",
        address: "127.0.0.1",
        state: "mixed",
        partitions: ["gpu"],
        cpus: { total: 2, allocated: 1, idle: 1 },
        gpus: { total: 2, allocated: 1 },
        reason: "",
      },
    ]);
  });

  it("reads jobs: running ones with their nodes and GPUs, pending ones with their reason and request", () => {
    const jobs = parseSqueue(fixture("squeue-22.05.json"));
    expect(jobs.map((j) => [j.id, j.name, j.user, j.account, j.state, j.reason, j.nodes, j.gpus])).toEqual([
      ["1", "ollama_abc123", "gpumon-alice", "physics", "running", "None", ["gpu-node-1"], 1],
      ["2", "big", "gpumon-alice", "physics", "pending", "Resources", [], 2],
      ["3", "cpu", "gpumon-alice", "", "pending", "Priority", [], 0],
    ]);
    expect(jobs[0]?.startTime).toBeGreaterThan(0);
    expect(jobs[1]?.startTime).toBeUndefined();
  });
});

describe("GRES, host lists and node states", () => {
  it("counts GPUs in every GRES notation sinfo and squeue print", () => {
    expect(countGpus("gpu:a100:2")).toBe(2);
    expect(countGpus("gpu:a100:2(S:0-1),gpu:v100:1")).toBe(3);
    expect(countGpus("gpu:a100:1(IDX:0),mps:100")).toBe(1);
    expect(countGpus("gpu:a100:0(IDX:N/A)")).toBe(0);
    expect(countGpus("gres:gpu:1")).toBe(1);
    expect(countGpus("gres/gpu:a100:4")).toBe(4);
    expect(countGpus("gpu")).toBe(1);
    expect(countGpus("gpu:a100")).toBe(1);
    expect(countGpus("(null)")).toBe(0);
    expect(countGpus("N/A")).toBe(0);
    expect(countGpus("")).toBe(0);
  });

  it("expands host lists", () => {
    expect(expandHostlist("gpu[01-03,7],login1")).toEqual(["gpu01", "gpu02", "gpu03", "gpu7", "login1"]);
    expect(expandHostlist("rack[1-2]-n[1-2]")).toEqual(["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]);
    expect(expandHostlist("")).toEqual([]);
  });

  it("folds the drain flag into the state the way sinfo's long states do", () => {
    expect(nodeState("IDLE", ["DRAIN"])).toBe("drained");
    expect(nodeState("mixed", ["DRAIN"])).toBe("draining");
    expect(nodeState("down", [])).toBe("down");
  });

  it("takes GPUs from tres_alloc_str where gres_detail is empty", () => {
    const doc = JSON.parse(fixture("squeue-22.05.json")) as { jobs: Record<string, unknown>[] };
    doc.jobs[0] = { ...doc.jobs[0], gres_detail: [], tres_per_node: "", tres_alloc_str: "cpu=1,node=1,gres/gpu=3,gres/gpu:a100=3" };
    expect(parseSqueue(JSON.stringify(doc))[0]?.gpus).toBe(3);
  });

  it("counts a pending job array squeue lists once by its tasks", () => {
    const doc = JSON.parse(fixture("squeue-22.05.json")) as { jobs: Record<string, unknown>[] };
    // As Slurm 22.05 lists `sbatch --array=0-9%3 --gres=gpu:1` while it waits.
    doc.jobs[1] = { ...doc.jobs[1], array_job_id: 3, array_task_string: "0-9%3", tres_per_node: "gres:gpu:1" };
    const job = parseSqueue(JSON.stringify(doc))[1];
    expect([job?.count, job?.gpus]).toEqual([10, 1]);
    expect(countArrayTasks("1,4,10-20:5")).toBe(5);
    expect(countArrayTasks("garbage")).toBe(1);
  });

  it("reports errors squeue put into its document", () => {
    expect(() => parseSqueue(JSON.stringify({ errors: [{ error: "Unable to contact slurm controller" }], jobs: [] }))).toThrow(/reported an error: Unable to contact/);
  });
});

describe("monitoring targets", () => {
  it("parses the three kinds and writes them back unchanged", () => {
    for (const spec of ["ollama:11434:job-name=ollama_abc123", "trainer:8000:job-id=4242", "node:9100:host=gpu-node-3"]) {
      expect(formatMonitoringTarget(parseMonitoringTarget(spec))).toBe(spec);
    }
  });

  it("rejects malformed targets with a message naming what is wrong", () => {
    expect(() => parseMonitoringTarget("ollama:11434")).toThrow(/expected JOB:PORT:KIND=VALUE/);
    expect(() => parseMonitoringTarget("ollama:70000:job-name=x")).toThrow(/port must be 1-65535/);
    expect(() => parseMonitoringTarget("ollama:1:job-id=abc")).toThrow(/a job ID is a number/);
    expect(() => parseMonitoringTarget("9lives:1:host=x")).toThrow(/scrape job "9lives"/);
    expect(() => parseMonitoringTarget("x:1:queue=abc")).toThrow(/KIND job-name, job-id or host/);
  });

  it("lists a multi-node job once per node, by each node's address", () => {
    const snapshot = {
      takenAt: 0,
      nodes: ["n1", "n2"].map((name, i) => ({ name, address: `10.0.0.${i + 1}`, state: "allocated", partitions: ["p"], cpus: { total: 1, allocated: 1, idle: 0 }, gpus: { total: 0, allocated: 0 }, reason: "" })),
      jobs: [{ id: "7", name: "mpi", user: "u", account: "a", partition: "p", state: "running", reason: "None", nodes: ["n1", "n2"], gpus: 0, count: 1, submitTime: 1, startTime: 2 }],
    };
    const groups = discover(snapshot, [parseMonitoringTarget("mpi:9000:job-id=7")]);
    expect(groups.map((g) => g.targets[0])).toEqual(["10.0.0.1:9000", "10.0.0.2:9000"]);
  });
});
