import { setQuietLog } from "../exporter/core/log";
import { parseSinfo, parseSqueue } from "../exporter/slurm/model";
import { createSlurmSource } from "../exporter/slurm/source";
import { SlurmCluster } from "../test/slurm/support/cluster";

/**
 * `npm run bench:slurm`: what one poll of the SLURM source costs (sinfo --json and squeue --json
 * side by side, then parsing) on the real single-node test cluster with 10 / 100 / 500 jobs in
 * the queue (two running, the rest pending). Median of BENCH_POLLS polls per size.
 *
 * Environment: BENCH_SLURM_JOBS (10,100,500), BENCH_POLLS (10). Needs root and Debian's Slurm.
 */
const SIZES = (process.env.BENCH_SLURM_JOBS ?? "10,100,500").split(",").map(Number).filter((n) => n > 0);
const POLLS = Number(process.env.BENCH_POLLS ?? 10);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  setQuietLog(true);
  // Waits in the harness do not hold the event loop; this does, until the end.
  const keepAlive = setInterval(() => undefined, 1_000);
  const cluster = await SlurmCluster.start();
  if (typeof cluster === "string") throw new Error(cluster);
  try {
    const source = createSlurmSource({ slurmConf: cluster.conf, timeoutMs: 30_000 });
    let submitted = 0;
    console.log("jobs  poll_ms(median)  squeue_ms  sinfo_ms  parse_ms  squeue_bytes");
    for (const size of SIZES) {
      for (; submitted < size; submitted++) {
        await cluster.submit({ user: submitted % 2 ? "gpumon-bob" : "gpumon-alice", name: `bench-${submitted}`, account: "bench", gpus: submitted < 2 ? 1 : 0, wrap: "sleep 3600" });
      }
      const polls: number[] = [];
      const squeue: number[] = [];
      const sinfo: number[] = [];
      const parse: number[] = [];
      let bytes = 0;
      for (let i = 0; i < POLLS; i++) {
        const started = performance.now();
        const poll = await source.read();
        polls.push(performance.now() - started);
        squeue.push(poll.commandMs.squeue);
        sinfo.push(poll.commandMs.sinfo);
        if (poll.jobs.length !== size) throw new Error(`squeue listed ${poll.jobs.length} jobs, expected ${size}`);
        const raw = await cluster.command("squeue", ["--all", "--json"]);
        bytes = raw.length;
        const rawNodes = await cluster.command("sinfo", ["--json"]);
        const t = performance.now();
        parseSqueue(raw);
        parseSinfo(rawNodes);
        parse.push(performance.now() - t);
      }
      console.log(
        `${String(size).padStart(4)}  ${median(polls).toFixed(1).padStart(15)}  ${median(squeue).toFixed(1).padStart(9)}  ${median(sinfo).toFixed(1).padStart(8)}  ${median(parse).toFixed(1).padStart(8)}  ${String(bytes).padStart(12)}`,
      );
    }
  } finally {
    await cluster.stop();
    clearInterval(keepAlive);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
