import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { StackConfig } from "../../components/config";
import { BUNDLE_PATHS, loopbackAddressing, renderBundle } from "../../components/render";
import type { SimulationOverrides } from "../../exporter/simulation/overrides";
import type { AlertmanagerApi } from "./alertmanager-api";
import type { LoopbackPaths, LoopbackPorts } from "./loopback";
import { freePorts } from "./ports";
import type { ManagedProcess } from "./process";
import type { LocalProgram } from "./programs";
import type { PrometheusApi } from "./prometheus-api";
import { startAlertmanager, startExporter, startGrafana, startNodeExporter, startPrometheus } from "./services";
import { WebhookReceiver, type Delivery } from "./webhook";
import { Workspace, type RenderedFile } from "./workspace";

/** A Grafana server to run too, with the admin credentials to start it with. */
export interface LocalGrafana {
  readonly program: LocalProgram;
  readonly adminPassword: string;
}

export interface LocalStackOptions {
  /** The stack config for this run's ports and DS01 file paths (see loopbackRawConfig). */
  readonly config: (ports: LoopbackPorts, paths: LoopbackPaths) => StackConfig;
  /** The directory to keep everything in; default: a fresh temp directory. */
  readonly root?: string;
  /** In force before the exporter's first scrape, so a driven condition has no earlier history. */
  readonly initialOverrides?: SimulationOverrides;
  readonly grafana?: LocalGrafana;
  /** Called for every notification the local webhook receiver gets. */
  readonly onDelivery?: (delivery: Delivery) => void;
  /** Called as each service becomes ready. */
  readonly onProgress?: (line: string) => void;
}

/**
 * The whole stack as processes on 127.0.0.1: Prometheus, Alertmanager and node-exporter from
 * PATH, our exporter in simulation mode, a webhook receiver and, when given, Grafana, on ports
 * picked free for this run, with configuration rendered by the stack's own code (the same
 * bundle `export` writes, with loopback addressing). `gpu-monitoring demo` and the end-to-end
 * suite both run this.
 */
export class LocalStack {
  prometheus!: { proc: ManagedProcess; api: PrometheusApi };
  alertmanager!: { proc: ManagedProcess; api: AlertmanagerApi };
  exporter!: ManagedProcess;
  grafana: ManagedProcess | undefined;

  private constructor(
    readonly workspace: Workspace,
    readonly ports: LoopbackPorts,
    readonly config: StackConfig,
    readonly files: readonly RenderedFile[],
    readonly webhook: WebhookReceiver,
    private readonly options: LocalStackOptions,
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

  /** Renders and starts everything; on a failure stops what had started and says why. */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const workspace = await Workspace.create(options.root);
    const webhook = new WebhookReceiver(options.onDelivery);
    try {
      const names = ["prometheus", "alertmanager", "nodeExporter", "exporter", "simulatedDcgm", "webhook"] as const;
      const picked = await freePorts(options.grafana ? [...names, "grafana"] : names);
      const ports: LoopbackPorts = picked;
      await webhook.start(ports.webhook);
      const paths = { stateDir: join(workspace.root, "ds01-state"), eventsFile: join(workspace.root, "ds01-events.jsonl") };
      await writeDs01Files(paths.stateDir, paths.eventsFile);
      const config = options.config(ports, paths);
      // The same renderer as every stack; only the addressing differs (processes on 127.0.0.1 ports),
      // and Grafana reads the dashboards from this directory rather than from its image's path.
      const files = renderBundle(config, {
        addressing: loopbackAddressing(config),
        grafanaDashboardsDir: join(workspace.configDir, BUNDLE_PATHS.grafanaDashboards),
      });
      await workspace.writeFiles(files);
      const stack = new LocalStack(workspace, ports, config, files, webhook, options);
      await stack.setOverrides(options.initialOverrides ?? {});
      await stack.startAll();
      return stack;
    } catch (err: unknown) {
      const detail = workspace.diagnostics();
      await workspace.stopAll();
      await webhook.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}${detail ? `\n${detail}` : ""}`);
    }
  }

  private ready<T>(name: string, url: string, started: Promise<T>): Promise<T> {
    return started.then((value) => {
      this.options.onProgress?.(`${name} ready at ${url}`);
      return value;
    });
  }

  /**
   * All at once: Prometheus needs nothing else to start, and its target discovery takes ~5 s
   * before the first scrape, which overlaps the exporter's start-up.
   */
  private async startAll(): Promise<void> {
    const ws = this.workspace;
    // allSettled: on a failure every other start has finished (and is tracked) before cleanup runs.
    const results = await Promise.allSettled([
      this.ready("prometheus", `http://127.0.0.1:${this.ports.prometheus}`, this.startPrometheus()),
      this.ready("alertmanager", `http://127.0.0.1:${this.ports.alertmanager}`, this.startAlertmanager()),
      this.ready("exporter", `http://127.0.0.1:${this.ports.exporter}/metrics`, this.startExporter()),
      this.ready(
        "node-exporter",
        `http://127.0.0.1:${this.ports.nodeExporter}/metrics`,
        startNodeExporter({ port: this.ports.nodeExporter, logDir: ws.logDir }).then((p) => ws.track(p)),
      ),
      ...(this.options.grafana ? [this.ready("grafana", `http://127.0.0.1:${this.ports.grafana}`, this.startGrafana(this.options.grafana))] : []),
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

  private async startGrafana(grafana: LocalGrafana): Promise<void> {
    const ws = this.workspace;
    const port = this.ports.grafana;
    if (port === undefined) throw new Error("no port was picked for Grafana");
    this.grafana = ws.track(
      await startGrafana({
        program: grafana.program,
        port,
        dataDir: ws.dataDir("grafana"),
        logDir: ws.logDir,
        provisioningDir: join(ws.configDir, "grafana", "provisioning"),
        adminUser: this.config.grafanaAdminUser,
        adminPassword: grafana.adminPassword,
      }),
    );
  }

  /** `gpu-monitoring exporter --simulation` on the profile's exporter and simulated-DCGM ports. */
  async startExporter(): Promise<void> {
    const dcgmPort = this.config.exporter.simulatedDcgmPort;
    if (dcgmPort === undefined) throw new Error("the stack config does not serve a simulated DCGM endpoint (exporter.simulatedDcgmPort unset)");
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

  /** Stops everything by PID; keeps the directory (logs, data) when `keep` is set. */
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
  await writeFile(join(stateDir, "gpu-state.json"), JSON.stringify({ note: "local stack state directory" }));
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
