import { execFile, spawn } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, value } from "./helpers";
import { createEventsLog } from "../../exporter/ds01/events-log";
import { DEFAULT_THRESHOLD_BYTES } from "../../exporter/ds01/scan-child";
import { dockerfileInstructions, imageBundleArgs, imageRuntime } from "../support/dockerfile";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "exporter", "Dockerfile");
const UNIT = path.join(ROOT, "exporter", "gpu-monitoring-exporter.service");

describe("exporter image (Dockerfile)", () => {
  let dockerfile: string[];
  let dir: string;
  beforeAll(async () => {
    dockerfile = dockerfileInstructions(await readFile(DOCKERFILE, "utf8"));
    dir = await mkdtemp(path.join(tmpdir(), "exporter-bundle-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is node:20-slim based, runs as a non-root user, has a health check and no npm at run time", () => {
    const froms = dockerfile.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith("FROM "));
    expect(froms.map(([l]) => l.split(/\s+/)[1])).toEqual(["node:20-slim", "node:20-slim"]);
    const final = dockerfile.slice(froms[froms.length - 1]![1]);
    const user = final.find((l) => l.startsWith("USER "))?.split(/\s+/)[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    expect(final.some((l) => l.startsWith("HEALTHCHECK ") && l.includes("/-/healthy"))).toBe(true);
    expect(final.some((l) => /\bnpm\b/.test(l) && l.startsWith("RUN"))).toBe(false);
    expect(final.find((l) => l.startsWith("ENTRYPOINT "))).toBe(
      'ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=20", "--lite-mode", "--no-expose-wasm", "--expose-gc", "/app/exporter.js"]',
    );
    // The runtime npm run bench measures: a small young generation, a tightly grown old one, no optimising compiler
    // (the events log's large reads run in a child with it) and glibc's allocator kept small.
    expect(imageRuntime(dockerfile.join("\n"))).toEqual({
      flags: ["--max-semi-space-size=1", "--heap-growing-percent=20", "--lite-mode", "--no-expose-wasm", "--expose-gc"],
      env: { NODE_ENV: "production", MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" },
    });
    expect(dockerfile.some((l) => l.includes("npm ci --omit=dev"))).toBe(true);
  });

  /** The bundle as the Dockerfile's own esbuild command builds it, built once. */
  let bundled: Promise<string> | undefined;
  const bundle = (): Promise<string> =>
    (bundled ??= (async () => {
      const outfile = path.join(dir, "exporter.js");
      await run(path.join(ROOT, "node_modules", ".bin", "esbuild"), imageBundleArgs(dockerfile.join("\n"), outfile), { cwd: ROOT });
      await copyFile(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
      return outfile;
    })());

  it("bundles with the Dockerfile's own esbuild command; the bundle serves and its HEALTHCHECK passes", { timeout: 120_000 }, async () => {
    const outfile = await bundle();
    // ASCII only: V8 keeps the script's source for the process's life, at two bytes a character if any is not.
    expect(/[^\x00-\x7f]/.test(await readFile(outfile, "latin1"))).toBe(false);

    const child = spawn(process.execPath, [outfile, "--simulation", "--metrics-port=0", "--bind=127.0.0.1"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
      const page = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
      expect(value(page, "ds01_exporter_info", { type: "simulation", version: JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")).version })).toBe(1);

      const healthcheck = dockerfile.find((l) => l.startsWith("HEALTHCHECK "))!;
      const cmd = JSON.parse(healthcheck.slice(healthcheck.indexOf("CMD ") + 4)) as string[];
      const probe = (p: string) =>
        run(cmd[0] === "node" ? process.execPath : cmd[0]!, cmd.slice(1), { env: { ...process.env, EXPORTER_HEALTH_PORT: p } }).then(
          () => 0,
          (e: { code?: number }) => e.code ?? -1,
        );
      expect(await probe(port)).toBe(0);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(await probe(port)).toBe(1);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("under the image's runtime, reads a log past the threshold in a child of the same bundle, counting what a read here counts", { timeout: 120_000 }, async () => {
    const outfile = await bundle();
    // Past the threshold: the first read goes to a child.
    const events = path.join(dir, "events.jsonl");
    const start = Date.now() - 23 * 3600_000;
    const lines: string[] = [];
    for (let i = 0, bytes = 0; bytes < DEFAULT_THRESHOLD_BYTES * 1.25; i++) {
      lines.push(JSON.stringify({ timestamp: new Date(start + i * 1200).toISOString(), event_type: ["container.start", "container.stop", "gpu.allocated"][i % 3], details: { n: i } }));
      bytes += lines[i]!.length + 1;
    }
    await writeFile(events, lines.join("\n") + "\nnot json\n");
    const expected = await createEventsLog({ path: events }).read();

    const runtime = imageRuntime(dockerfile.join("\n"));
    const child = spawn(process.execPath, [...runtime.flags, outfile, `--events-file=${events}`, "--metrics-port=0", "--bind=127.0.0.1"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...runtime.env },
    });
    try {
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
      // The first refresh may still be reading when the server listens.
      let page = "";
      for (let i = 0; i < 300 && !page.includes("ds01_events_24h_total{"); i++) {
        page = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
        if (!page.includes("ds01_events_24h_total{")) await new Promise((r) => setTimeout(r, 100));
      }
      for (const [type, n] of expected) expect(value(page, "ds01_events_24h_total", { event_type: type }), type).toBe(n);
      expect([...expected.values()].reduce((a, b) => a + b, 0)).toBe(lines.length);
      expect(err + out).toContain("events log read by a child process");
      expect(err + out).not.toContain("instead of a child");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("systemd unit", () => {
  let unit: string;
  beforeAll(async () => {
    unit = await readFile(UNIT, "utf8");
  });

  const directive = (key: string): string[] =>
    unit
      .split("\n")
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1));

  it("passes systemd-analyze verify without warnings", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "exporter-unit-"));
    try {
      const copy = path.join(dir, "gpu-monitoring-exporter.service");
      await copyFile(UNIT, copy);
      const { stderr } = await run("systemd-analyze", ["verify", copy]);
      expect(stderr.split("\n").filter((l) => l.includes("gpu-monitoring-exporter.service"))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is hardened: no privileges, read-only system and DS01 state, loopback bind, inet/unix sockets only", async () => {
    expect(directive("DynamicUser")).toEqual(["yes"]);
    expect(directive("NoNewPrivileges")).toEqual(["yes"]);
    expect(directive("ProtectSystem")).toEqual(["strict"]);
    expect(directive("ProtectHome")).toEqual(["yes"]);
    expect(directive("PrivateTmp")).toEqual(["yes"]);
    expect(directive("CapabilityBoundingSet")).toEqual([""]);
    expect(directive("RestrictAddressFamilies")).toEqual(["AF_UNIX AF_INET AF_INET6"]);
    expect(directive("ReadOnlyPaths")[0]).toContain("/var/lib/ds01");
    expect(directive("RestartPreventExitStatus")).toEqual(["2"]);
    const exec = unit.replace(/\\\n\s*/g, " ");
    expect(exec).toMatch(/ExecStart=.*--bind=127\.0\.0\.1/);
    // The same node flags and environment as the image.
    const image = imageRuntime(await readFile(DOCKERFILE, "utf8"));
    expect(exec).toMatch(new RegExp(`^ExecStart=/usr/bin/node ${image.flags.join(" ")} /`, "m"));
    const environment = Object.fromEntries(directive("Environment").flatMap((l) => l.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])));
    expect(environment).toEqual(image.env);
    // The docker group is granted exactly when the Docker source is configured.
    expect(directive("SupplementaryGroups").includes("docker")).toBe(/ExecStart=.*--docker-socket=/.test(exec));
    expect(unit).not.toMatch(/api-key=/);
  });
});
