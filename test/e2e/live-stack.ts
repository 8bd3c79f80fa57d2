import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { StackConfig } from "../../components/config";
import { BUNDLE_PATHS, loopbackAddressing, renderBundle } from "../../components/render";
import type { SimulationOverrides } from "../../exporter/simulation/overrides";
import type { AlertmanagerApi } from "./harness/alertmanager-api";
import { freePorts } from "./harness/ports";
import type { ManagedProcess } from "./harness/process";
import type { PrometheusApi } from "./harness/prometheus-api";
import { startAlertmanager, startExporter, startNodeExporter, startPrometheus } from "./harness/services";
import { WebhookReceiver } from "./harness/webhook";
import { Workspace, type RenderedFile } from "./harness/workspace";
import { loadLoopbackConfig, type LoopbackPorts } from "./loopback";

/**
 * The whole stack as loopback processes: Debian's Prometheus, Alertmanager and node-exporter,
 * our exporter in simulation mode, and the test's webhook receiver, on ports picked free for
 * this run, with configuration rendered from the loopback profile by the stack's own code.
 */
export class LiveStack {
  prometheus!: { proc: ManagedProcess; api: PrometheusApi };
  alertmanager!: { proc: ManagedProcess; api: AlertmanagerApi };
  exporter!: ManagedProcess;

  private constructor(
    readonly workspace: Workspace,
    readonly ports: LoopbackPorts,
    readonly config: StackConfig,
    readonly files: readonly RenderedFile[],
    readonly webhook: WebhookReceiver,
  ) {}

  get overridesPath(): string {
    return join(this.workspace.root, "simulation-overrides.json");
  }

  /** A rendered file by its bundle path (BUNDLE_PATHS). */
  file(path: string): RenderedFile {
    const found = this.files.find((f) => f.path === path);
    if (!found) throw new Error(`rendered bundle has no ${path}; it has: ${this.files.map((f) => f.path).join(", ")}`);
    return found;
  }

  private configPath(path: string): string {
    return join(this.workspace.configDir, this.file(path).path);
  }

  /**
   * Renders and starts everything. `initialOverrides` is in force before the exporter's first
   * scrape, so a driven condition has no earlier history that would delay its alert.
   */
  static async start(initialOverrides: SimulationOverrides): Promise<LiveStack> {
    const workspace = await Workspace.create();
    const webhook = new WebhookReceiver();
    try {
      const ports = await freePorts(["prometheus", "alertmanager", "nodeExporter", "exporter", "simulatedDcgm", "webhook"] as const);
      await webhook.start(ports.webhook);
      const paths = { stateDir: join(workspace.root, "ds01-state"), eventsFile: join(workspace.root, "ds01-events.jsonl") };
      await writeDs01Files(paths.stateDir, paths.eventsFile);
      const config = loadLoopbackConfig(ports, paths);
      // The same renderer as every stack; only the addressing differs (processes on 127.0.0.1 ports).
      const files = renderBundle(config, { addressing: loopbackAddressing(config) });
      await workspace.writeFiles(files);
      const stack = new LiveStack(workspace, ports, config, files, webhook);
      await stack.setOverrides(initialOverrides);
      await stack.startAll();
      return stack;
    } catch (err: unknown) {
      const detail = workspace.diagnostics();
      await workspace.stopAll();
      await webhook.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${detail}`);
    }
  }

  /**
   * All at once: Prometheus needs nothing else to start, and its target discovery takes ~5 s
   * before the first scrape, which overlaps the exporter's start-up.
   */
  private async startAll(): Promise<void> {
    const ws = this.workspace;
    // allSettled: on a failure every other start has finished (and is tracked) before cleanup runs.
    const results = await Promise.allSettled([
      this.startPrometheus(),
      this.startAlertmanager(),
      this.startExporter(),
      startNodeExporter({ port: this.ports.nodeExporter, logDir: ws.logDir }).then((p) => ws.track(p)),
    ]);
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failures.length > 0) throw new Error(`stack did not start:\n${failures.join("\n")}`);
  }

  async startPrometheus(): Promise<void> {
    const ws = this.workspace;
    this.prometheus = await startPrometheus({
      configFile: this.configPath(BUNDLE_PATHS.prometheusConfig),
      dataDir: ws.dataDir("prometheus"),
      port: this.ports.prometheus,
      logDir: ws.logDir,
      retention: this.config.retention.time,
    });
    ws.track(this.prometheus.proc);
  }

  async startAlertmanager(): Promise<void> {
    const ws = this.workspace;
    this.alertmanager = await startAlertmanager({
      configFile: this.configPath(BUNDLE_PATHS.alertmanagerConfig),
      dataDir: ws.dataDir("alertmanager"),
      port: this.ports.alertmanager,
      logDir: ws.logDir,
    });
    ws.track(this.alertmanager.proc);
  }

  /** `gpu-monitoring exporter --simulation` on the profile's exporter and simulated-DCGM ports. */
  async startExporter(): Promise<void> {
    const dcgmPort = this.config.exporter.simulatedDcgmPort;
    if (dcgmPort === undefined) throw new Error("the loopback profile does not serve a simulated DCGM endpoint (exporter.simulatedDcgmPort unset)");
    const host = this.config.bindAddresses.exporter;
    const port = this.config.ports.exporter;
    const { stateDir, eventsFile } = this.config.exporter.sources;
    this.exporter = await startExporter({
      args: [
        "--simulation",
        "--bind",
        host,
        "--metrics-port",
        String(port),
        "--simulate-dcgm-port",
        String(dcgmPort),
        "--simulation-overrides",
        this.overridesPath,
        "--update-interval",
        String(this.config.exporter.updateIntervalSeconds),
        ...(stateDir ? ["--state-dir", stateDir] : []),
        ...(eventsFile ? ["--events-file", eventsFile] : []),
      ],
      readyUrls: [`http://${host}:${port}/metrics`, `http://${host}:${dcgmPort}/metrics`],
      logDir: this.workspace.logDir,
    });
    this.workspace.track(this.exporter);
  }

  /** Replaces the simulation overrides atomically (write + rename), so the exporter never reads half a file. */
  async setOverrides(overrides: SimulationOverrides): Promise<void> {
    const tmp = join(dirname(this.overridesPath), `.overrides-${process.pid}-${Date.now()}.json`);
    await writeFile(tmp, JSON.stringify(overrides, null, 2));
    await rename(tmp, this.overridesPath);
  }

  /** Stops everything by PID; keeps the workspace (logs, data) when `keep` is set, for a failed run. */
  async stop(keep: boolean): Promise<void> {
    await this.workspace.stopAll();
    await this.webhook.stop();
    if (!keep) await this.workspace.remove();
  }
}

/**
 * A DS01 state directory with a little in it and an events log in DS01's format, so the
 * exporter's real state-dir and events sources run next to the simulated allocations.
 */
async function writeDs01Files(stateDir: string, eventsFile: string): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFile(join(stateDir, "gpu-state.json"), JSON.stringify({ note: "e2e state directory" }));
  const now = Date.now();
  const events = [
    { minutesAgo: 50, type: "container.started" },
    { minutesAgo: 40, type: "gpu.allocated" },
    { minutesAgo: 30, type: "gpu.allocated" },
    { minutesAgo: 20, type: "gpu.released" },
    { minutesAgo: 10, type: "container.started" },
  ];
  const lines = events.map((e) => JSON.stringify({ timestamp: new Date(now - e.minutesAgo * 60_000).toISOString(), event_type: e.type, user: "alice" }));
  await writeFile(eventsFile, `${lines.join("\n")}\n`);
}
