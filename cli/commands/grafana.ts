import { Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { dashboardsFromDirectory, type DashboardModel } from "../dashboardSource";
import { CliError, redact } from "../errors";
import { displayUrl, httpRequest, HttpFailure, joinUrl, parseBaseUrl } from "../http";
import { progressWriter, type CliIo } from "../io";
import { loadLazily } from "../lazy";
import { flagOrEnv, parseDuration } from "../options";
import { formatTable } from "../table";

/** Loaded when needed: building the dashboards pulls in the Grafana SDK, which `--help` does not need. */
type BuiltDashboardsModule = typeof import("../builtDashboards");

export interface UploadOptions {
  readonly grafanaUrl: URL;
  /** A Grafana service-account token; sent as a Bearer token and never printed. */
  readonly token: string;
  readonly dashboards: readonly DashboardModel[];
  readonly folderUid?: string;
  /**
   * true: replace whatever Grafana holds under the UID. false: only create; Grafana answers 412
   * (version-mismatched) for a UID it already holds, and that dashboard is left as it is.
   */
  readonly overwrite: boolean;
  readonly message: string;
  readonly timeoutMs: number;
  readonly progress: (line: string) => void;
}

export interface UploadResult {
  readonly uid: string;
  readonly title: string;
  readonly ok: boolean;
  readonly version?: number;
  /** Where the dashboard opens in Grafana, when it was uploaded. */
  readonly url?: string;
  readonly error?: string;
}

const successBody = z.object({
  uid: z.string(),
  version: z.number().optional(),
  url: z.string().optional(),
  status: z.string().optional(),
});
const errorBody = z.object({ message: z.string().optional(), status: z.string().optional() });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Why Grafana refused one dashboard with 412, in words, with the way out. */
function conflictMessage(d: DashboardModel, status: string | undefined, overwrite: boolean): string {
  switch (status) {
    case "version-mismatched":
      return overwrite
        ? `Grafana holds a newer version of "${d.title}" (uid ${d.uid}) and refused to replace it`
        : `"${d.title}" (uid ${d.uid}) already exists in Grafana (at another version, perhaps edited there); rerun with --overwrite to replace it, or save those changes first`;
    case "name-exists":
      return `another dashboard titled "${d.title}" exists in the target folder under a different uid; rename or delete it in Grafana, or upload into another folder with --folder-uid`;
    case "plugin-dashboard":
      return `"${d.title}" (uid ${d.uid}) belongs to a Grafana plugin and cannot be replaced; delete it in Grafana or change its uid`;
    default:
      return `Grafana refused "${d.title}" (uid ${d.uid}) with a precondition failure (${status ?? "no status"}); rerun with --overwrite`;
  }
}

/**
 * Creates or updates each dashboard by UID through POST /api/dashboards/db. A rejected token,
 * missing permission, timeout or unreachable Grafana stops the run (every later request would
 * fail the same way); a refusal of one dashboard is recorded and the rest still go up.
 */
export async function uploadDashboards(opts: UploadOptions): Promise<UploadResult[]> {
  const endpoint = joinUrl(opts.grafanaUrl, "/api/dashboards/db");
  const where = displayUrl(opts.grafanaUrl);
  const clean = (text: string): string => redact(text, [opts.token]);
  const results: UploadResult[] = [];
  const total = opts.dashboards.length;

  for (const [i, d] of opts.dashboards.entries()) {
    const step = `[${i + 1}/${total}]`;
    opts.progress(`${step} uploading "${d.title}" (uid ${d.uid})`);
    // id must be null: Grafana then matches by uid, creating the dashboard or updating it in place.
    const body = JSON.stringify({
      dashboard: { ...d.model, id: null, uid: d.uid },
      ...(opts.folderUid ? { folderUid: opts.folderUid } : {}),
      overwrite: opts.overwrite,
      message: opts.message,
    });
    let res;
    try {
      res = await httpRequest({
        method: "POST",
        url: endpoint,
        headers: {
          Authorization: `Bearer ${opts.token}`,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        body,
        timeoutMs: opts.timeoutMs,
      });
    } catch (err: unknown) {
      if (err instanceof HttpFailure && err.kind === "timeout") {
        throw new CliError(
          `Grafana at ${where} did not answer within ${opts.timeoutMs} ms (${results.length} of ${total} dashboards uploaded)`,
          "check that --url points at Grafana and that it is up, or raise --timeout",
        );
      }
      throw new CliError(
        `${clean(err instanceof Error ? err.message : String(err))} (${results.length} of ${total} dashboards uploaded)`,
        "check --url / GRAFANA_URL and that Grafana is running and reachable from here",
      );
    }

    const parsed = parseJson(res.text);
    const detail = errorBody.safeParse(parsed);
    const serverMessage = detail.success && detail.data.message ? clean(detail.data.message) : clean(res.text.slice(0, 200)).trim();

    if (res.status === 401) {
      throw new CliError(
        `Grafana at ${where} rejected the token (401 Unauthorized)`,
        "check the token: GRAFANA_TOKEN or --token must be a valid, unexpired Grafana service-account token",
      );
    }
    if (res.status === 403) {
      throw new CliError(
        `the token is not allowed to write dashboards on ${where} (403 Forbidden: ${serverMessage})`,
        "give the service account the Editor role (or dashboards:write on the target folder)",
      );
    }
    if (res.status >= 200 && res.status < 300) {
      const ok = successBody.safeParse(parsed);
      const version = ok.success ? ok.data.version : undefined;
      // What Grafana answers is shown only with the token taken out: a proxy may reflect it.
      const url = ok.success && ok.data.url ? clean(displayUrl(joinUrl(opts.grafanaUrl, ok.data.url))) : undefined;
      results.push({ uid: d.uid, title: d.title, ok: true, version, url });
      opts.progress(`${step} uploaded "${d.title}"${version !== undefined ? ` version ${version}` : ""}`);
      continue;
    }
    const error =
      res.status === 412
        ? conflictMessage(d, detail.success ? detail.data.status : undefined, opts.overwrite)
        : res.status === 404 && opts.folderUid
          ? `folder ${opts.folderUid} was not found (404: ${serverMessage}); create it in Grafana or drop --folder-uid`
          : `Grafana answered ${res.status}: ${serverMessage || "no message"}`;
    results.push({ uid: d.uid, title: d.title, ok: false, error });
    opts.progress(`${step} failed "${d.title}": ${error}`);
  }
  return results;
}

async function readToken(io: CliIo, flag: string | undefined, tokenFile: string | undefined): Promise<string> {
  if (tokenFile) {
    try {
      const token = (await readFile(tokenFile, "utf8")).trim();
      if (token) return token;
    } catch {
      throw new CliError(`cannot read --token-file ${tokenFile}`, "give a readable file holding the service-account token");
    }
    throw new CliError(`--token-file ${tokenFile} is empty`, "put the service-account token in the file");
  }
  const token = flagOrEnv(flag, io.env, "GRAFANA_TOKEN");
  if (!token) {
    throw new CliError(
      "no Grafana token given",
      "create a service account with the Editor role in Grafana, then set GRAFANA_TOKEN (or pass --token-file FILE)",
    );
  }
  return token;
}

interface UploadFlags {
  url?: string;
  token?: string;
  tokenFile?: string;
  fromDir?: string;
  only?: string;
  folderUid?: string;
  overwrite: boolean;
  message: string;
  timeout: string;
  quiet?: boolean;
}

export function grafanaCommand(io: CliIo): Command {
  const grafana = new Command("grafana").description("Work with a running Grafana through its HTTP API");
  grafana
    .command("upload")
    .description("Create or update the stack's dashboards in a running Grafana by UID (for Grafanas not using file provisioning)")
    .option("--url <url>", "Grafana base URL (env GRAFANA_URL), e.g. http://127.0.0.1:3000")
    .option("--token <token>", "service-account token (env GRAFANA_TOKEN; prefer the env variable or --token-file: flags show in ps)")
    .option("--token-file <file>", "read the service-account token from this file")
    .option("--from-dir <dir>", "upload the *.json dashboards in this directory instead of the built-in ones (e.g. an export's dashboards folder)")
    .option("--only <uids>", "comma-separated dashboard UIDs to upload")
    .option("--folder-uid <uid>", "Grafana folder to put the dashboards in (default: General)")
    .option("--overwrite", "replace what Grafana holds under each UID, even if it was changed there (default)", true)
    .option("--no-overwrite", "only create: leave a dashboard Grafana already holds under the UID as it is (reported as a 412 conflict)")
    .option("--message <text>", "version message Grafana stores with each change", "uploaded by gpu-monitoring")
    .addOption(new Option("--timeout <duration>", "limit for each request").default("10s"))
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      "\nExamples:\n  GRAFANA_URL=http://127.0.0.1:3000 GRAFANA_TOKEN=glsa_... gpu-monitoring grafana upload\n  gpu-monitoring grafana upload --url http://grafana:3000 --token-file ~/.grafana-token --only ds01-overview,nvidia-dcgm\n",
    )
    .action(async (flags: UploadFlags) => {
      const rawUrl = flagOrEnv(flags.url, io.env, "GRAFANA_URL");
      if (!rawUrl) throw new CliError("no Grafana URL given", "pass --url http://HOST:3000 or set GRAFANA_URL");
      const grafanaUrl = parseBaseUrl(rawUrl, "--url");
      // Upload authenticates with the token only; a password in the URL would end up in shell history and logs.
      if (grafanaUrl.username || grafanaUrl.password) {
        throw new CliError("--url carries user:password@", "take the credentials out of the URL; the token goes in GRAFANA_TOKEN or --token-file");
      }
      const timeoutMs = parseDuration(flags.timeout, "--timeout");
      const token = await readToken(io, flags.token, flags.tokenFile);
      let dashboards = flags.fromDir ? await dashboardsFromDirectory(flags.fromDir) : await (await loadLazily<BuiltDashboardsModule>("../builtDashboards")).builtDashboards();
      if (flags.only) {
        const wanted = flags.only.split(",").map((s) => s.trim()).filter(Boolean);
        const unknown = wanted.filter((uid) => !dashboards.some((d) => d.uid === uid));
        if (unknown.length) {
          throw new CliError(`no dashboard with uid ${unknown.join(", ")}`, `choose from: ${dashboards.map((d) => d.uid).join(", ")}`);
        }
        dashboards = dashboards.filter((d) => wanted.includes(d.uid));
      }
      const results = await uploadDashboards({
        grafanaUrl,
        token,
        dashboards,
        folderUid: flags.folderUid,
        overwrite: flags.overwrite,
        message: flags.message,
        timeoutMs,
        progress: progressWriter(io, flags.quiet),
      });
      io.stdout.write(
        formatTable(
          ["UID", "TITLE", "RESULT", "VERSION", "URL / ERROR"],
          results.map((r) => [r.uid, r.title, r.ok ? "uploaded" : "FAILED", r.version?.toString() ?? "", r.ok ? (r.url ?? "") : (r.error ?? "")]),
        ),
      );
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) {
        io.stderr.write(`${failed} of ${results.length} dashboards failed; fix the causes above and rerun (uploads are idempotent)\n`);
        io.exitCode = 1;
      }
    });
  return grafana;
}
