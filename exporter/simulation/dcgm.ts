import type { IncomingMessage, ServerResponse } from "node:http";
import { createBoundedServer } from "../core/http-limits";
import { dcgm } from "../../metrics";
import { DEFAULT_BIND, listen } from "../core/server";
import { log } from "../core/log";
import { GPU_MODEL, XID_MESSAGES, type GpuState, type SlotState } from "./host";

export const SIMULATED_DRIVER_VERSION = "550.127.08";

type DcgmName = keyof typeof dcgm;
type Labels = Record<string, string>;

/** Prometheus text-format escaping for label values. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(",");
}

/** Collects samples per metric family and renders them the way dcgm-exporter does. */
class Exposition {
  private readonly families = new Map<DcgmName, string[]>();

  add(name: DcgmName, labels: Labels, value: number): void {
    let lines = this.families.get(name);
    if (!lines) this.families.set(name, (lines = []));
    // Integers (counters that grow for years) as they are; ratios at six decimals.
    lines.push(`${name}{${formatLabels(labels)}} ${Number.isInteger(value) ? value : Math.round(value * 1e6) / 1e6}`);
  }

  render(): string {
    const out: string[] = [];
    for (const [name, lines] of this.families) {
      const def = dcgm[name];
      out.push(`# HELP ${name} ${def.help}`, `# TYPE ${name} ${def.type}`, ...lines);
    }
    return out.join("\n") + "\n";
  }
}

export interface DcgmView {
  readonly hostname: string;
  readonly gpus: readonly GpuState[];
  readonly slots: readonly SlotState[];
}

/**
 * Renders a dcgm-exporter-compatible /metrics page from the simulated host. Full GPUs carry
 * the DEV_* fields and profiling ratios; a MIG-mode GPU reports device fields (clocks,
 * temperature, power, energy, XID) once for the card and utilisation and memory per GPU
 * instance with GPU_I_ID and GPU_I_PROFILE, as the real exporter does. DCGM_FI_DEV_GPU_UTIL
 * is absent for MIG-mode cards because DCGM cannot measure it there.
 */
export function renderDcgmMetrics(view: DcgmView): string {
  const e = new Exposition();
  for (const g of view.gpus) {
    const base: Labels = {
      gpu: g.index,
      UUID: g.uuid,
      pci_bus_id: g.pciBusId,
      device: `nvidia${g.index}`,
      modelName: GPU_MODEL,
      Hostname: view.hostname,
      DCGM_FI_DRIVER_VERSION: SIMULATED_DRIVER_VERSION,
    };
    const active = g.util > 1;
    e.add("DCGM_FI_DEV_SM_CLOCK", base, active ? 1410 : 210);
    e.add("DCGM_FI_DEV_MEM_CLOCK", base, 1593);
    e.add("DCGM_FI_DEV_GPU_TEMP", base, Math.round(g.temperature));
    e.add("DCGM_FI_DEV_MEMORY_TEMP", base, Math.round(g.temperature + 5));
    e.add("DCGM_FI_DEV_POWER_USAGE", base, Math.round(g.power * 1000) / 1000);
    e.add("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", base, g.energyMj);
    e.add("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", base, g.pcieReplays);
    e.add("DCGM_FI_DEV_ENC_UTIL", base, 0);
    e.add("DCGM_FI_DEV_DEC_UTIL", base, 0);
    e.add(
      "DCGM_FI_DEV_XID_ERRORS",
      { ...base, err_code: String(g.xid), err_msg: g.xid === 0 ? "No Error" : (XID_MESSAGES[g.xid] ?? "Unknown Error") },
      g.xid,
    );
    e.add("DCGM_FI_DEV_VGPU_LICENSE_STATUS", base, 0);
    e.add("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", base, 0);
    e.add("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", base, 0);
    e.add("DCGM_FI_DEV_ROW_REMAP_FAILURE", base, 0);
    e.add("DCGM_FI_DEV_THERMAL_VIOLATION", base, g.thermalViolationUs);
    e.add("DCGM_FI_DEV_POWER_VIOLATION", base, g.powerViolationUs);
    e.add("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", base, 0);
    e.add("DCGM_FI_PROF_PCIE_TX_BYTES", base, g.pcieTxBytesPerSec);
    e.add("DCGM_FI_PROF_PCIE_RX_BYTES", base, g.pcieRxBytesPerSec);

    const own = view.slots.filter((s) => s.gpu === g.index);
    if (!g.migEnabled) {
      const s = own[0]!;
      e.add("DCGM_FI_DEV_GPU_UTIL", base, Math.round(s.util));
      e.add("DCGM_FI_DEV_MEM_COPY_UTIL", base, Math.round(s.util * 0.45));
      e.add("DCGM_FI_DEV_FB_USED", base, s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_FREE", base, s.memoryMiB - s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_RESERVED", base, 81920 - s.memoryMiB);
      addProfiling(e, base, s);
      continue;
    }
    for (const s of own) {
      const labels: Labels = { ...base, GPU_I_PROFILE: s.profile, GPU_I_ID: s.gpuInstanceId ?? "" };
      e.add("DCGM_FI_DEV_FB_USED", labels, s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_FREE", labels, s.memoryMiB - s.memoryUsedMiB);
      addProfiling(e, labels, s);
    }
  }
  return e.render();
}

function addProfiling(e: Exposition, labels: Labels, s: SlotState): void {
  const ratio = s.util / 100;
  e.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labels, Math.round(ratio * 1e6) / 1e6);
  e.add("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", labels, Math.round(ratio * 0.62 * 1e6) / 1e6);
  e.add("DCGM_FI_PROF_DRAM_ACTIVE", labels, Math.round(ratio * 0.48 * 1e6) / 1e6);
}

export interface DcgmEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the DCGM-compatible page on its own port (dcgm-exporter's is 9400), so Prometheus
 * scrapes it as it would the real exporter. `page()` returns undefined while the simulated
 * DCGM is overridden down, which answers 503.
 */
export async function startDcgmEndpoint(page: () => string | undefined, port: number, bind = DEFAULT_BIND): Promise<DcgmEndpoint> {
  const server = createBoundedServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not Found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }).end("Method Not Allowed\n");
      return;
    }
    let body: string | undefined;
    try {
      body = page();
    } catch (err: unknown) {
      log("error", "simulated DCGM page failed", { error: err instanceof Error ? err.message : String(err) });
    }
    if (body === undefined) {
      res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8" }).end("DCGM unavailable\n");
      return;
    }
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  const bound = await listen(server.listener, port, bind);
  const host = bind.includes(":") ? `[${bind}]` : bind === "0.0.0.0" ? "127.0.0.1" : bind;
  return {
    url: `http://${host}:${bound}/metrics`,
    port: bound,
    close: () => server.close(),
  };
}
