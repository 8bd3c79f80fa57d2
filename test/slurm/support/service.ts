import { writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A service as a SLURM job runs it: a small HTTP server with /metrics on 127.0.0.1:<port>
 * (process CPU and memory, as a real service's client library would export them). The job
 * runs it with Debian's node, which every user may execute.
 */
const SERVICE = `
const http = require("node:http");
const port = Number(process.argv[2]);
let served = 0;
http
  .createServer((req, res) => {
    if (req.url !== "/metrics") { res.writeHead(404); res.end(); return; }
    served++;
    const cpu = process.cpuUsage();
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
    res.end([
      "# TYPE process_cpu_seconds_total counter",
      "process_cpu_seconds_total " + (cpu.user + cpu.system) / 1e6,
      "# TYPE process_resident_memory_bytes gauge",
      "process_resident_memory_bytes " + process.memoryUsage().rss,
      "# TYPE service_requests_total counter",
      "service_requests_total " + served,
      "",
    ].join("\\n"));
  })
  .listen(port, "127.0.0.1");
`;

/** Writes the service script into the cluster's work dir; returns the job command that runs it on `port`. */
export async function serviceCommand(workDir: string, port: number): Promise<string> {
  const script = path.join(workDir, "service.js");
  await writeFile(script, SERVICE, { mode: 0o644 });
  return `exec /usr/bin/node ${script} ${port}`;
}
