import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AlertmanagerApi } from "./alertmanager-api";
import { findProgram, type LocalProgram } from "./programs";
import { ManagedProcess } from "./process";
import { PrometheusApi } from "./prometheus-api";
import { httpRequest, waitFor } from "./wait";

/** Repository root: bin/gpu-monitoring.cjs is started from here. */
export const REPO_ROOT = resolve(__dirname, "..", "..");

const READY_TIMEOUT_MS = 30_000;

async function waitReady(proc: ManagedProcess, what: string, probe: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  // A process that exits while we wait fails the wait at once, not after the whole timeout.
  let settled = false;
  const exitedEarly = proc.exited.then((exit) => {
    if (!settled) throw new Error(`${proc.name} exited before it was ready (${JSON.stringify(exit)})`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([
    waitFor(`${proc.name} (${what}) to become ready`, async () => ((await probe()) ? true : undefined), { timeoutMs, intervalMs: 200 }),
    exitedEarly.then(() => new Promise<never>(() => undefined)),
  ])
    .catch(async (err: unknown) => {
      // Not ready means not handed to the caller: stop it here so nothing outlives the failure.
      await proc.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${proc.name} log ---\n${proc.logTail(3_000)}`);
    })
    .finally(() => {
      settled = true;
    });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await httpRequest(url, { timeoutMs: 2_000 })).status === 200;
  } catch {
    return false;
  }
}

export interface PrometheusOptions {
  readonly configFile: string;
  readonly dataDir: string;
  readonly port: number;
  readonly logDir: string;
  readonly retention?: string;
}

/** Debian's prometheus on 127.0.0.1, resending alerts every second so Alertmanager sees them quickly. */
export async function startPrometheus(o: PrometheusOptions): Promise<{ proc: ManagedProcess; api: PrometheusApi }> {
  const proc = await ManagedProcess.start(
    "prometheus",
    findProgram("prometheus"),
    [
      `--config.file=${o.configFile}`,
      `--storage.tsdb.path=${o.dataDir}`,
      `--storage.tsdb.retention.time=${o.retention ?? "1d"}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      "--web.enable-lifecycle",
      "--rules.alert.resend-delay=1s",
      "--log.level=info",
    ],
    { logDir: o.logDir },
  );
  const api = new PrometheusApi(`http://127.0.0.1:${o.port}`);
  await waitReady(proc, `:${o.port}`, () => api.ready().catch(() => false));
  return { proc, api };
}

export interface AlertmanagerOptions {
  readonly configFile: string;
  readonly dataDir: string;
  readonly port: number;
  readonly logDir: string;
}

/** Debian's prometheus-alertmanager on 127.0.0.1 with clustering off (empty cluster address). */
export async function startAlertmanager(o: AlertmanagerOptions): Promise<{ proc: ManagedProcess; api: AlertmanagerApi }> {
  const proc = await ManagedProcess.start(
    "alertmanager",
    findProgram("alertmanager"),
    [
      `--config.file=${o.configFile}`,
      `--storage.path=${o.dataDir}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      "--cluster.listen-address=",
      "--log.level=info",
    ],
    { logDir: o.logDir },
  );
  const api = new AlertmanagerApi(`http://127.0.0.1:${o.port}`);
  await waitReady(proc, `:${o.port}`, () => api.ready().catch(() => false));
  return { proc, api };
}

/** Debian's prometheus-node-exporter on 127.0.0.1. */
export async function startNodeExporter(o: { port: number; logDir: string }): Promise<ManagedProcess> {
  const proc = await ManagedProcess.start(
    "node-exporter",
    findProgram("nodeExporter"),
    [`--web.listen-address=127.0.0.1:${o.port}`],
    { logDir: o.logDir },
  );
  await waitReady(proc, `:${o.port}`, () => httpOk(`http://127.0.0.1:${o.port}/metrics`));
  return proc;
}

/**
 * Our exporter as its own process (`node bin/gpu-monitoring.cjs exporter ...`), so the suite can
 * kill it by PID for the exporter-down alert. Ready when every given metrics URL answers.
 */
export async function startExporter(o: {
  args: readonly string[];
  readyUrls: readonly string[];
  logDir: string;
  name?: string;
}): Promise<ManagedProcess> {
  const proc = await ManagedProcess.start(
    o.name ?? "exporter",
    process.execPath,
    [join(REPO_ROOT, "bin", "gpu-monitoring.cjs"), "exporter", ...o.args],
    { logDir: o.logDir, cwd: REPO_ROOT },
  );
  for (const url of o.readyUrls) await waitReady(proc, url, () => httpOk(url));
  return proc;
}

export interface GrafanaOptions {
  readonly program: LocalProgram;
  readonly port: number;
  readonly dataDir: string;
  readonly logDir: string;
  /** The rendered grafana/provisioning folder (datasources and the dashboard provider). */
  readonly provisioningDir: string;
  readonly adminUser: string;
  readonly adminPassword: string;
}

/**
 * A Grafana server binary found on PATH, on 127.0.0.1, provisioned from the rendered bundle.
 * Settings go in as GF_* variables, so no grafana.ini is written; `grafana server` (current
 * releases) or `grafana-server` (older ones), with the home path its packages install.
 */
export async function startGrafana(o: GrafanaOptions): Promise<ManagedProcess> {
  await mkdir(join(o.dataDir, "plugins"), { recursive: true });
  const args = o.program.name === "grafana" ? ["server"] : [];
  if (o.program.home) args.push(`--homepath=${o.program.home}`);
  const proc = await ManagedProcess.start("grafana", o.program.path, args, {
    logDir: o.logDir,
    env: {
      ...process.env,
      GF_SERVER_HTTP_ADDR: "127.0.0.1",
      GF_SERVER_HTTP_PORT: String(o.port),
      GF_PATHS_DATA: o.dataDir,
      GF_PATHS_LOGS: o.logDir,
      GF_PATHS_PLUGINS: join(o.dataDir, "plugins"),
      GF_PATHS_PROVISIONING: o.provisioningDir,
      GF_SECURITY_ADMIN_USER: o.adminUser,
      GF_SECURITY_ADMIN_PASSWORD: o.adminPassword,
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_NEWS_NEWS_FEED_ENABLED: "false",
    },
  });
  await waitReady(proc, `:${o.port}`, () => httpOk(`http://127.0.0.1:${o.port}/api/health`), 90_000);
  return proc;
}
