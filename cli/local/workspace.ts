import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, normalize } from "node:path";
import type { ManagedProcess } from "./process";

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
}

/**
 * A local stack's directory: rendered config, data directories that survive restarts, and
 * process logs. A private temp directory (fs.mkdtemp, so a second run never collides) for a
 * test, or one the user names (the demo's --data-dir).
 */
export class Workspace {
  private readonly processes = new Map<string, ManagedProcess>();

  private constructor(readonly root: string) {}

  static async create(root?: string): Promise<Workspace> {
    if (root !== undefined) await mkdir(root, { recursive: true });
    const ws = new Workspace(root ?? (await mkdtemp(join(tmpdir(), "gpu-monitoring-e2e-"))));
    await Promise.all([ws.logDir, ws.configDir, ws.dataDir("prometheus"), ws.dataDir("alertmanager")].map((d) => mkdir(d, { recursive: true })));
    return ws;
  }

  get logDir(): string {
    return join(this.root, "logs");
  }

  get configDir(): string {
    return join(this.root, "config");
  }

  dataDir(service: string): string {
    return join(this.root, "data", service);
  }

  /** Writes rendered files under configDir, refusing paths that would leave it. */
  async writeFiles(files: readonly RenderedFile[], under = this.configDir): Promise<void> {
    for (const file of files) {
      const rel = normalize(file.path);
      if (isAbsolute(rel) || rel.startsWith("..")) throw new Error(`rendered file path leaves the workspace: ${file.path}`);
      const target = join(under, rel);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content);
    }
  }

  /** Every tracked process, in start order. */
  get all(): readonly ManagedProcess[] {
    return [...this.processes.values()];
  }

  /** Tracks a process by name; a restarted service replaces its earlier (stopped) entry. */
  track<P extends ManagedProcess>(proc: P): P {
    this.processes.set(proc.name, proc);
    return proc;
  }

  process(name: string): ManagedProcess | undefined {
    return this.processes.get(name);
  }

  /** Stops every tracked process by its PID; never throws, so afterAll always gets through. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop().catch(() => undefined)));
  }

  /** Each process' state and last log lines, for a failure report. */
  diagnostics(maxCharsEach = 2_500): string {
    return [...this.processes.values()]
      .map((p) => `--- ${p.name} (pid ${p.pid}, ${p.running ? "running" : `exited ${JSON.stringify(p.exit)}`}) ${p.logPath}\n${p.logTail(maxCharsEach)}`)
      .join("\n");
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
