import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { readStackFile, validateStackConfig, type RawStackConfig, type StackConfig } from "../components/config";
import { registeredServices } from "../components/services";
import { watchParent } from "../exporter/core/parent";
import { CliError } from "./errors";
import { findStackFile, withConfigHint } from "./exportBundle";
import type { CliIo } from "./io";
import { asObject, loopbackRawConfig, type LoopbackPaths, type LoopbackPorts } from "./local/loopback";
import { locateProgram, requirePrograms, type LocalProgram } from "./local/programs";
import type { ActiveTarget } from "./local/prometheus-api";
import { LocalStack } from "./local/stack";
import { sleep } from "./local/wait";
import type { Delivery } from "./local/webhook";

export interface DemoFlags {
  stack: string;
  stackFile?: string;
  stacksDir: string;
  dataDir: string;
  grafana: boolean;
  scrapeInterval: string;
  targetsTimeout: string;
}

/** What a running demo writes into its data directory: how to reach it, and what to stop if it died. */
export interface DemoState {
  readonly pid: number;
  readonly startedAt: string;
  readonly urls: Readonly<Record<string, string>>;
  readonly overridesFile: string;
  readonly processes: readonly { readonly name: string; readonly pid: number }[];
  readonly targetsUpAfterSeconds?: number;
}

export const DEMO_STATE_FILE = "demo.json";
const DEMO_RECEIVER = "demo-webhook";
const PASSWORD_FILE = "grafana-admin-password";

/**
 * The stack file's config made into a demo: every service on this machine, the exporter in
 * simulation serving the DCGM endpoint, no cAdvisor (it needs Docker), alerts capped to fire
 * within `maxFor` and all sent to the demo's webhook receiver. Thresholds, rule sets, retention and
 * labels stay the stack file's, so the demo shows that stack's rules and dashboards.
 */
export function demoRawConfig(raw: RawStackConfig, o: { grafana: boolean; scrapeInterval: string }): RawStackConfig {
  const plain: Record<string, unknown> = { ...raw.plain };
  for (const key of ["kubernetes", "extraScrapeTargets", "fileSd", "gpu", "images", "namePrefix"]) delete plain[key];
  const alerting = asObject(plain["alerting"]);
  const services = registeredServices().map((d) => d.name);
  const every = Object.fromEntries(["default", ...services].map((k) => [k, o.scrapeInterval]));
  // The services the demo runs as processes here; every other registered one is off.
  const runs: Record<string, boolean> = { prometheus: true, alertmanager: true, grafana: o.grafana, nodeExporter: true, exporter: true };
  const route = { receiver: DEMO_RECEIVER, groupWait: "1s" };
  Object.assign(plain, {
    platform: "docker",
    components: Object.fromEntries(services.map((s) => [s, runs[s] ?? false])),
    exporter: { run: "container", simulation: true, updateIntervalSeconds: 5 },
    scrapeIntervals: every,
    evaluationInterval: o.scrapeInterval,
    alerting: {
      ...(alerting["ruleSets"] !== undefined ? { ruleSets: alerting["ruleSets"] } : {}),
      ...(alerting["disabledAlerts"] !== undefined ? { disabledAlerts: alerting["disabledAlerts"] } : {}),
      ...(alerting["runbookBaseUrl"] !== undefined ? { runbookBaseUrl: alerting["runbookBaseUrl"] } : {}),
      // Minutes-long `for` clauses would keep a demo silent; 15s still shows pending before firing.
      maxFor: "15s",
      receivers: [{ name: DEMO_RECEIVER, type: "webhook", url: "http://127.0.0.1:9/alerts", sendResolved: true }],
      routing: { defaultReceiver: DEMO_RECEIVER, groupWait: "1s", groupInterval: "5s", critical: route, warning: route, info: route },
    },
  });
  return { plain, secretKeys: o.grafana ? ["grafanaAdminPassword"] : [] };
}

/** One line per alert in a notification: time, state, name, severity and what it is about. */
export function formatDelivery(d: Delivery): string[] {
  const time = new Date(d.receivedAt).toISOString().slice(11, 19);
  return d.payload.alerts.map((a) => {
    const { alertname, severity, ...rest } = a.labels;
    const about = Object.entries(rest)
      .filter(([k]) => !["job", "instance", "environment", "cluster"].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    const summary = a.annotations["summary"] ?? "";
    return `${time} alert ${a.status.toUpperCase()} ${alertname ?? "?"} (${severity ?? "no severity"})${about ? ` ${about}` : ""}${summary ? ` - ${summary}` : ""}`;
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a live process, to tell a leftover of ours from a process that reused its PID. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/**
 * A demo running from this directory is refused; the servers of one that was killed without its
 * chance to stop them (SIGKILL) are stopped now, each only if its command line still names this
 * directory (so a reused PID is never signalled).
 */
async function takeOver(dataDir: string, say: (line: string) => void): Promise<void> {
  let previous: DemoState;
  try {
    previous = JSON.parse(await readFile(join(dataDir, DEMO_STATE_FILE), "utf8")) as DemoState;
  } catch {
    return;
  }
  if (previous.pid !== process.pid && isAlive(previous.pid) && commandLine(previous.pid).includes("demo")) {
    throw new CliError(`a demo is already running from ${dataDir} (pid ${previous.pid})`, `stop it (kill ${previous.pid}) or pass another --data-dir`);
  }
  for (const p of previous.processes) {
    if (!isAlive(p.pid) || !commandLine(p.pid).includes(dataDir)) continue;
    say(`stopping ${p.name} (pid ${p.pid}) left by an earlier demo`);
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await rm(join(dataDir, DEMO_STATE_FILE), { force: true });
}

/** Grafana's admin password for this data directory: made once, random, readable by this user only. */
async function grafanaPassword(dataDir: string): Promise<{ password: string; file: string }> {
  const file = join(dataDir, PASSWORD_FILE);
  const existing = await readFile(file, "utf8").catch(() => "");
  if (existing.trim() !== "") return { password: existing.trim(), file };
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return { password, file };
}

function describeTargets(targets: readonly ActiveTarget[]): string {
  if (targets.length === 0) return "waiting for Prometheus to discover its targets";
  const down = targets.filter((t) => t.health !== "up").map((t) => `${t.labels["job"] ?? t.scrapePool} (${t.health}${t.lastError ? `: ${t.lastError}` : ""})`);
  return down.length ? `waiting for ${down.join(", ")}` : "all up";
}

/** Polls Prometheus until every active target is up; returns how many there are. */
async function waitForTargets(stack: LocalStack, timeoutMs: number, say: (line: string) => void, stopped: () => boolean): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (stopped()) return 0;
    const targets = await stack.prometheus.api.activeTargets().catch(() => []);
    const up = targets.filter((t) => t.health === "up").length;
    if (targets.length > 0 && up === targets.length) return up;
    const line = `targets up: ${up}/${targets.length}; ${describeTargets(targets)}`;
    if (line !== last) say(line);
    last = line;
    if (Date.now() >= deadline) {
      throw new CliError(`not every target came up within ${timeoutMs / 1000}s: ${describeTargets(targets)}`, `see the logs in ${stack.workspace.logDir}`);
    }
    await sleep(500);
  }
}

function parseSeconds(value: string, flag: string): number {
  const m = /^(\d+)s$/.exec(value);
  if (!m || Number(m[1]) < 1) throw new CliError(`${flag} "${value}" is not a number of seconds`, `give it as e.g. ${flag} 5s`);
  return Number(m[1]);
}

/**
 * `gpu-monitoring demo`: the whole stack on this machine until Ctrl-C or SIGTERM. Resolves when
 * everything it started has stopped; the exit code is 0 after a requested stop, 1 when a server
 * died or the stack did not come up.
 */
export async function runDemo(io: CliIo, flags: DemoFlags): Promise<void> {
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const progress = (line: string): void => io.stderr.write(`[${elapsed()}] ${line}\n`);
  const scrapeSeconds = parseSeconds(flags.scrapeInterval, "--scrape-interval");
  const targetsTimeoutMs = parseSeconds(flags.targetsTimeout, "--targets-timeout") * 1000;

  // Checked before anything is written or started, so a missing program costs nothing.
  requirePrograms(["prometheus", "alertmanager", "nodeExporter"]);
  const grafanaProgram: LocalProgram | undefined = flags.grafana ? locateProgram("grafana") : undefined;
  const { stack: stackName, file } = await findStackFile(io, flags);
  const raw = withConfigHint(io, file, () => readStackFile(file));
  const dataDir = resolve(io.cwd, flags.dataDir);
  await mkdir(dataDir, { recursive: true });
  await takeOver(dataDir, progress);

  let stopRequested: NodeJS.Signals | undefined;
  let wake: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolveStop) => (wake = resolveStop));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) return;
    stopRequested = signal;
    progress(`${signal}: stopping`);
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const unwatch = watchParent(() => onSignal("SIGHUP"));

  const demoConfig = (ports: LoopbackPorts, paths: LoopbackPaths): StackConfig =>
    withConfigHint(io, file, () =>
      validateStackConfig(loopbackRawConfig(demoRawConfig(raw, { grafana: grafanaProgram !== undefined, scrapeInterval: `${scrapeSeconds}s` }), ports, paths), `${file} (demo)`),
    );
  // The stack file's own problems stop the demo here, before any process starts.
  demoConfig(
    { prometheus: 1, alertmanager: 2, nodeExporter: 3, exporter: 4, simulatedDcgm: 5, webhook: 6, grafana: 7 },
    { stateDir: join(dataDir, "ds01-state"), eventsFile: join(dataDir, "ds01-events.jsonl") },
  );
  const password = grafanaProgram ? await grafanaPassword(dataDir) : undefined;
  progress(`starting stack ${stackName} from ${relative(io.cwd, file) || file} in ${dataDir}`);
  let stack: LocalStack | undefined;
  let failure: unknown;
  try {
    stack = await LocalStack.start({
      config: demoConfig,
      root: dataDir,
      ...(grafanaProgram && password ? { grafana: { program: grafanaProgram, adminPassword: password.password } } : {}),
      onProgress: progress,
      onDelivery: (d) => {
        for (const line of formatDelivery(d)) io.stdout.write(`${line}\n`);
      },
    });
    const running = stack;
    const processes = running.workspace.all.map((p) => ({ name: p.name, pid: p.pid }));
    const urls: Record<string, string> = {
      prometheus: `http://127.0.0.1:${running.ports.prometheus}`,
      alertmanager: `http://127.0.0.1:${running.ports.alertmanager}`,
      exporter: `http://127.0.0.1:${running.ports.exporter}/metrics`,
      dcgm: `http://127.0.0.1:${running.ports.simulatedDcgm}/metrics`,
      nodeExporter: `http://127.0.0.1:${running.ports.nodeExporter}/metrics`,
      webhook: `http://127.0.0.1:${running.ports.webhook}/alerts`,
      ...(running.ports.grafana !== undefined ? { grafana: `http://127.0.0.1:${running.ports.grafana}` } : {}),
    };
    const state = (extra: Partial<DemoState> = {}): DemoState => ({
      pid: process.pid,
      startedAt: new Date(started).toISOString(),
      urls,
      overridesFile: running.overridesPath,
      processes,
      ...extra,
    });
    await writeFile(join(dataDir, DEMO_STATE_FILE), `${JSON.stringify(state(), null, 2)}\n`);

    const died = Promise.race(running.workspace.all.map((p) => p.exited.then((exit) => ({ name: p.name, exit, log: p.logPath }))));
    const targetsUp = await Promise.race([
      waitForTargets(running, targetsTimeoutMs, progress, () => stopRequested !== undefined),
      stopSignal.then(() => 0),
    ]);
    if (!stopRequested) {
      const upAfter = (Date.now() - started) / 1000;
      await writeFile(join(dataDir, DEMO_STATE_FILE), `${JSON.stringify(state({ targetsUpAfterSeconds: upAfter }), null, 2)}\n`);
      progress(`all ${targetsUp} targets up after ${upAfter.toFixed(1)}s`);
      io.stdout.write(summary(urls, running, dataDir, grafanaProgram, password?.file, io.cwd));
      const outcome = await Promise.race([stopSignal.then(() => undefined), died]);
      if (outcome && !stopRequested) {
        throw new CliError(`${outcome.name} exited unexpectedly (${JSON.stringify(outcome.exit)})`, `see its log: ${outcome.log}`);
      }
    }
  } catch (err: unknown) {
    failure = err;
  } finally {
    unwatch();
    if (stack) {
      progress("stopping every process the demo started");
      await stack.stop(true);
      await rm(join(dataDir, DEMO_STATE_FILE), { force: true });
      progress("stopped; data kept in " + dataDir);
    }
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (failure !== undefined && !stopRequested) {
    if (failure instanceof CliError) throw failure;
    throw new CliError(failure instanceof Error ? failure.message : String(failure), `see each service's log in ${join(dataDir, "logs")}; docs/troubleshooting.md lists the usual causes`);
  }
}

function summary(
  urls: Readonly<Record<string, string>>,
  stack: LocalStack,
  dataDir: string,
  grafana: LocalProgram | undefined,
  passwordFile: string | undefined,
  cwd: string,
): string {
  const rel = (p: string): string => {
    const r = relative(cwd, p);
    return r === "" || r.startsWith("..") ? p : r;
  };
  const rows: [string, string][] = [
    ["Prometheus", urls["prometheus"] ?? ""],
    ["Alertmanager", urls["alertmanager"] ?? ""],
    ["Exporter (DS01, DRM)", urls["exporter"] ?? ""],
    ["DCGM (simulated)", urls["dcgm"] ?? ""],
    ["node-exporter", urls["nodeExporter"] ?? ""],
    ["Alert receiver", `${urls["webhook"] ?? ""} (alerts are printed below)`],
  ];
  if (grafana && urls["grafana"]) rows.push(["Grafana", `${urls["grafana"]} (user ${stack.config.grafanaAdminUser}, password in ${passwordFile ? rel(passwordFile) : "?"})`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const grafanaNote = grafana
    ? []
    : [
        "",
        "Grafana: not started (no grafana or grafana-server on PATH; Debian does not ship it).",
        "  To see the dashboards in a Grafana of your own (token from GRAFANA_TOKEN), point it at this Prometheus and run:",
        "  npx gpu-monitoring grafana upload --url http://127.0.0.1:3000",
      ];
  return [
    "",
    "The stack is up:",
    ...lines,
    ...grafanaNote,
    "",
    `Data, rendered config and logs: ${rel(dataDir)}`,
    "Fire an alert (a GPU at 95 °C; DS01GPUCriticalTemperature arrives within ~30s):",
    `  echo '{"gpus":{"3":{"temperature":95}}}' > ${rel(stack.overridesPath)}`,
    `Clear it: echo '{}' > ${rel(stack.overridesPath)}`,
    "Ctrl-C stops everything the demo started.",
    "",
  ].join("\n");
}
