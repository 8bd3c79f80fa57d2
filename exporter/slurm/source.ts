import type { Source } from "../core/source";
import { runSlurmCommand, type CommandOptions } from "./command";
import { parseSinfo, parseSqueue, type SlurmSnapshot } from "./model";

export type SlurmSourceOptions = CommandOptions;

/** A snapshot and what each command took to produce it (the exporter's self-report). */
export interface SlurmPoll extends SlurmSnapshot {
  readonly commandMs: Readonly<Record<"sinfo" | "squeue", number>>;
}

/**
 * Reads the cluster with `sinfo --json` and `squeue --all --json`, run side by side from PATH.
 * Either command failing (missing, hanging, non-zero exit, output that is not the expected
 * JSON) fails the whole read with that command's reason; the tracker keeps the last good poll.
 */
export function createSlurmSource(options: SlurmSourceOptions = {}): Source<SlurmPoll> {
  return {
    name: "slurm",
    async read(): Promise<SlurmPoll> {
      const [sinfo, squeue] = await Promise.all([
        runSlurmCommand("sinfo", ["--json"], options),
        runSlurmCommand("squeue", ["--all", "--json"], options),
      ]);
      return {
        nodes: parseSinfo(sinfo.stdout),
        jobs: parseSqueue(squeue.stdout),
        takenAt: Date.now() / 1000,
        commandMs: { sinfo: sinfo.durationMs, squeue: squeue.durationMs },
      };
    },
    close: async () => undefined,
  };
}
