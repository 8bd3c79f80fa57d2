import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { ManagedProcess } from "../../../cli/local/process";
import { freePort } from "../../../cli/local/ports";
import { sleep, waitFor } from "../../../cli/local/wait";

/** Binaries of Debian's slurmctld, slurmd, slurm-client and munge packages. */
const DAEMONS = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd"];
const CLIENTS = ["sbatch", "squeue", "sinfo", "scontrol", "scancel"];

/** Ordinary users the tests submit jobs as (created once, without a home). */
export const SLURM_USERS = ["gpumon-alice", "gpumon-bob"] as const;
export type SlurmUser = (typeof SLURM_USERS)[number];

export interface ClusterOptions {
  /** The node's SLURM name; its NodeAddr is always 127.0.0.1. */
  readonly nodeName?: string;
  readonly cpus?: number;
  readonly gpus?: number;
}

export interface SubmitOptions {
  readonly user: SlurmUser;
  readonly name: string;
  readonly account?: string;
  readonly gpus?: number;
  readonly cpus?: number;
  /** sbatch --array, e.g. `0-2`. */
  readonly array?: string;
  /** Shell command the job runs (sbatch --wrap). */
  readonly wrap: string;
}

interface Command {
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string; timeoutMs?: number } = {}): Promise<Command> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env: options.env, uid: options.uid, gid: options.gid, cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(" ")}: ${err.message}${stderr ? `\n${stderr}` : ""}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

async function ensureUser(name: string): Promise<{ uid: number; gid: number }> {
  const lookup = async (): Promise<{ uid: number; gid: number }> => {
    const uid = Number((await exec("id", ["-u", name])).stdout.trim());
    const gid = Number((await exec("id", ["-g", name])).stdout.trim());
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    await exec("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]).catch(() => undefined);
    return lookup();
  }
}

/**
 * A real single-node SLURM cluster (munged, slurmctld, slurmd of Slurm 22.05) run by the tests:
 * every file in one temp dir, ports picked free, controller and node on 127.0.0.1, the daemons
 * in the foreground (-D / -F) so their PIDs are ours to stop. The node has fake GPU GRES
 * (empty files, one per GPU, which is all slurmd needs to count them).
 *
 * The node's SLURM name is not the host name (slurmd -N), and its NodeAddr is 127.0.0.1: the
 * address service discovery must hand Prometheus.
 */
export class SlurmCluster {
  readonly env: NodeJS.ProcessEnv;
  private readonly users = new Map<SlurmUser, { uid: number; gid: number }>();

  private constructor(
    readonly dir: string,
    readonly conf: string,
    readonly nodeName: string,
    readonly workDir: string,
    private readonly daemons: ManagedProcess[],
  ) {
    this.env = { ...process.env, SLURM_CONF: conf };
  }

  /** Starts the cluster, or returns why it cannot run here (not root, packages missing). */
  static async start(options: ClusterOptions = {}): Promise<SlurmCluster | string> {
    for (const d of DAEMONS) if (!existsSync(d)) return `${d} is not installed (apt-get install slurmctld slurmd slurm-client munge)`;
    if (process.getuid?.() !== 0) return "the SLURM test cluster needs root (munged --force, slurmd)";
    const nodeName = options.nodeName ?? "gpu-node-1";
    const cpus = options.cpus ?? 2;
    const gpus = options.gpus ?? 2;

    const dir = await mkdtemp(path.join(tmpdir(), "gm-slurm-"));
    // The clients of ordinary users read slurm.conf and the munge socket from here.
    await chmod(dir, 0o755);
    const keyDir = path.join(dir, "munge-key");
    const sockDir = path.join(dir, "munge-socket");
    const workDir = path.join(dir, "work");
    const logDir = path.join(dir, "log");
    for (const d of [keyDir, sockDir, workDir, logDir, path.join(dir, "state"), path.join(dir, "spool")]) await mkdir(d, { recursive: true });
    await chmod(keyDir, 0o700);
    await chmod(sockDir, 0o755);
    await chmod(workDir, 0o1777);
    await writeFile(path.join(keyDir, "munge.key"), randomBytes(1024), { mode: 0o400 });
    for (let i = 0; i < gpus; i++) await writeFile(path.join(dir, `nvidia${i}`), "");

    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    const socket = path.join(sockDir, "munge.sock");
    const conf = path.join(dir, "slurm.conf");
    await writeFile(
      conf,
      [
        "ClusterName=gmtest",
        `SlurmctldHost=${hostname().split(".")[0]}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        "AuthType=auth/munge",
        "CredType=cred/munge",
        `AuthInfo=socket=${socket}`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        "MpiDefault=none",
        "SlurmUser=root",
        "JobAcctGatherType=jobacct_gather/none",
        // Ended jobs leave squeue quickly, as discovery must see them go.
        "MinJobAge=2",
        "KillWait=2",
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmdSpoolDir=${dir}/spool`,
        `StateSaveLocation=${dir}/state`,
        `SlurmctldLogFile=${logDir}/slurmctld.log`,
        `SlurmdLogFile=${logDir}/slurmd.log`,
        "GresTypes=gpu",
        `NodeName=${nodeName} NodeAddr=127.0.0.1 CPUs=${cpus} Sockets=${cpus} CoresPerSocket=1 ThreadsPerCore=1 RealMemory=2000 Gres=gpu:a100:${gpus} State=UNKNOWN`,
        `PartitionName=gpu Nodes=${nodeName} Default=YES MaxTime=INFINITE State=UP`,
        "",
      ].join("\n"),
    );
    await writeFile(path.join(dir, "gres.conf"), `Name=gpu Type=a100 File=${dir}/nvidia[0-${gpus - 1}]\n`);

    const daemons: ManagedProcess[] = [];
    const env = { ...process.env, SLURM_CONF: conf };
    const cluster = new SlurmCluster(dir, conf, nodeName, workDir, daemons);
    try {
      daemons.push(
        await ManagedProcess.start(
          "munged",
          "/usr/sbin/munged",
          ["-F", "--force", `--socket=${socket}`, `--key-file=${keyDir}/munge.key`, `--log-file=${logDir}/munged.log`, `--pid-file=${keyDir}/munged.pid`, `--seed-file=${keyDir}/munged.seed`],
          { logDir },
        ),
      );
      await waitFor("the munge socket", () => (existsSync(socket) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
      daemons.push(await ManagedProcess.start("slurmctld", "/usr/sbin/slurmctld", ["-D", "-f", conf], { logDir, env }));
      daemons.push(await ManagedProcess.start("slurmd", "/usr/sbin/slurmd", ["-D", "-N", nodeName, "-f", conf], { logDir, env }));
      await waitFor(
        `node ${nodeName} idle`,
        async () => {
          for (const d of daemons) if (!d.running) throw new Error(`${d.name} exited: ${d.logTail(1500)}`);
          const state = (await cluster.command("sinfo", ["-h", "-N", "-o", "%T"])).trim();
          return state === "idle" ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      for (const user of SLURM_USERS) cluster.users.set(user, await ensureUser(user));
      return cluster;
    } catch (err: unknown) {
      await cluster.stop();
      throw err;
    }
  }

  /** Runs a SLURM client as root with this cluster's SLURM_CONF; resolves with its stdout. */
  async command(file: string, args: readonly string[]): Promise<string> {
    if (!CLIENTS.includes(file)) throw new Error(`${file} is not a SLURM client`);
    return (await exec(file, args, { env: this.env })).stdout;
  }

  /** Submits a batch job as an ordinary user; returns its job ID. */
  async submit(job: SubmitOptions): Promise<string> {
    const ids = this.users.get(job.user);
    if (!ids) throw new Error(`unknown test user ${job.user}`);
    const args = ["--parsable", `--job-name=${job.name}`, "--output=/dev/null", `--chdir=${this.workDir}`, `--cpus-per-task=${job.cpus ?? 1}`];
    if (job.account) args.push(`--account=${job.account}`);
    if (job.gpus) args.push(`--gres=gpu:${job.gpus}`);
    if (job.array) args.push(`--array=${job.array}`);
    args.push(`--wrap=${job.wrap}`);
    const out = await exec("sbatch", args, { env: this.env, uid: ids.uid, gid: ids.gid, cwd: this.workDir });
    const id = out.stdout.trim().split(";")[0] ?? "";
    if (!/^\d+$/.test(id)) throw new Error(`sbatch answered ${JSON.stringify(out.stdout)}`);
    return id;
  }

  /** The job's state as squeue prints it (RUNNING, PENDING, ...); undefined once it left the queue. */
  async jobState(id: string): Promise<string | undefined> {
    const out = (await this.command("squeue", ["-h", "-j", id, "-o", "%T"]).catch(() => "")).trim();
    return out === "" ? undefined : out;
  }

  async waitForState(id: string, state: string, timeoutMs = 30_000): Promise<void> {
    let last: string | undefined;
    await waitFor(
      `job ${id} ${state}`,
      async () => {
        last = await this.jobState(id);
        return last === state ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
      () => `state ${last ?? "(gone)"}`,
    );
  }

  async cancel(...ids: string[]): Promise<void> {
    if (ids.length) await this.command("scancel", ids);
  }

  /** Cancels every job and waits until none is left running or completing. */
  async cancelAll(timeoutMs = 30_000): Promise<void> {
    await this.command("scancel", ["--partition=gpu"]).catch(() => "");
    await waitFor(
      "all jobs ended",
      async () => ((await this.command("squeue", ["-h", "-t", "RUNNING,COMPLETING,PENDING,CONFIGURING", "-o", "%i"])).trim() === "" ? true : undefined),
      { timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * Ends everything it started: jobs first (their slurmstepd outlives slurmd), then slurmd,
   * slurmctld and munged, each by its PID; then removes the temp dir.
   */
  async stop(): Promise<void> {
    const ctld = this.daemons.find((d) => d.name === "slurmctld");
    if (ctld?.running) await this.cancelAll().catch(() => undefined);
    for (const name of ["slurmd", "slurmctld", "munged"]) {
      const d = this.daemons.find((p) => p.name === name);
      if (d) await d.stop(5_000);
    }
    await sleep(50);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Logs of the daemons, for a failing test's message. */
  logs(): string {
    return this.daemons.map((d) => `--- ${d.name}\n${d.logTail(2000)}`).join("\n");
  }
}
