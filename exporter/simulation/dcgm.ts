import type { IncomingMessage, ServerResponse } from "node:http";
import { createBoundedServer } from "../core/http-limits";
import { dcgm } from "../../metrics";
import { DEFAULT_BIND, listen } from "../core/server";
import { log } from "../core/log";
import { escapeLabelValue } from "../core/render";
import { GPU_MODEL, XID_MESSAGES, type GpuState, type SlotState } from "./host";

export const SIMULATED_DRIVER_VERSION = "550.127.08";

type DcgmName = keyof typeof dcgm;
type Labels = Record<string, string>;


/**
 * DCGM field types: dcgm-exporter writes a double with Go's `%f` (six decimals, "62.500000"),
 * an int64 with `%d`. These are the doubles among the fields simulated here.
 */
const DOUBLE_FIELDS: ReadonlySet<DcgmName> = new Set<DcgmName>([
  "DCGM_FI_DEV_POWER_USAGE",
  "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
  "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
  "DCGM_FI_PROF_DRAM_ACTIVE",
]);

/** A sample's value as dcgm-exporter's toString() writes it for the field's DCGM type. */
export function dcgmValue(name: DcgmName, value: number): string {
  return DOUBLE_FIELDS.has(name) ? value.toFixed(6) : String(Math.round(value));
}

/**
 * One entity's identity as dcgm-exporter's GPU template writes it, in its order: gpu, UUID,
 * pci_bus_id, device, modelName, then GPU_I_PROFILE and GPU_I_ID for a GPU instance, Hostname,
 * then the label fields (DCGM_FI_DRIVER_VERSION) and the attributes (err_code, err_msg; pod,
 * namespace, container), each group in key order as Go's template ranges over a map.
 */
interface Entity {
  readonly gpu: GpuState;
  readonly instance: SlotState | undefined;
}

function entityLabels(hostname: string, { gpu, instance }: Entity, attributes: Labels = {}): string {
  const head: Array<[string, string]> = [
    ["gpu", gpu.index],
    ["UUID", gpu.uuid],
    ["pci_bus_id", gpu.pciBusId],
    ["device", `nvidia${gpu.index}`],
    ["modelName", GPU_MODEL],
  ];
  if (instance) head.push(["GPU_I_PROFILE", instance.profile], ["GPU_I_ID", instance.gpuInstanceId ?? ""]);
  if (hostname) head.push(["Hostname", hostname]);
  const labelFields: Labels = { DCGM_FI_DRIVER_VERSION: SIMULATED_DRIVER_VERSION };
  const sorted = (o: Labels) => Object.keys(o).sort().map((k): [string, string] => [k, o[k]!]);
  return [...head, ...sorted(labelFields), ...sorted(attributes)].map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
}

/** Collects samples per metric family and renders them the way dcgm-exporter does. */
class Exposition {
  private readonly families = new Map<DcgmName, string[]>();

  constructor(private readonly hostname: string) {}

  add(name: DcgmName, entity: Entity, value: number, attributes?: Labels): void {
    let lines = this.families.get(name);
    if (!lines) this.families.set(name, (lines = []));
    lines.push(`${name}{${entityLabels(this.hostname, entity, attributes)}} ${dcgmValue(name, value)}`);
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
 * Renders a dcgm-exporter-compatible /metrics page from the simulated host, shaped as
 * dcgm-exporter 4.x with its default `-f` (flex) device option: a GPU without MIG instances
 * is one entity; a GPU in MIG mode is monitored only through its GPU instances, so every field
 * (device fields such as temperature, power, clocks and XID included, with the parent's value)
 * appears once per instance with GPU_I_PROFILE and GPU_I_ID, and no series of that GPU lacks
 * them. DCGM_FI_DEV_GPU_UTIL and the other whole-GPU utilisations are blank on a GPU instance,
 * so dcgm-exporter skips them there. DCGM_FI_DEV_XID_ERRORS' value is the last XID and its
 * err_code/err_msg attributes follow it, so each new XID starts a new series.
 */
export function renderDcgmMetrics(view: DcgmView): string {
  const e = new Exposition(view.hostname);
  for (const g of view.gpus) {
    const own = view.slots.filter((s) => s.gpu === g.index);
    const entities: Entity[] = g.migEnabled ? own.map((instance) => ({ gpu: g, instance })) : [{ gpu: g, instance: undefined }];
    for (const entity of entities) addDeviceFields(e, entity);
    if (!g.migEnabled) {
      const s = own[0]!;
      const entity = entities[0]!;
      e.add("DCGM_FI_DEV_GPU_UTIL", entity, s.util);
      e.add("DCGM_FI_DEV_MEM_COPY_UTIL", entity, s.util * 0.45);
      e.add("DCGM_FI_DEV_ENC_UTIL", entity, 0);
      e.add("DCGM_FI_DEV_DEC_UTIL", entity, 0);
      e.add("DCGM_FI_DEV_FB_USED", entity, s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_FREE", entity, s.memoryMiB - s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_RESERVED", entity, 81920 - s.memoryMiB);
      addProfiling(e, entity, s);
      continue;
    }
    for (const entity of entities) {
      const s = entity.instance!;
      e.add("DCGM_FI_DEV_FB_USED", entity, s.memoryUsedMiB);
      e.add("DCGM_FI_DEV_FB_FREE", entity, s.memoryMiB - s.memoryUsedMiB);
      addProfiling(e, entity, s);
    }
  }
  return e.render();
}

/** Fields of the physical GPU; on a GPU instance DCGM answers them with the parent's values. */
function addDeviceFields(e: Exposition, entity: Entity): void {
  const g = entity.gpu;
  const active = g.util > 1;
  e.add("DCGM_FI_DEV_SM_CLOCK", entity, active ? 1410 : 210);
  e.add("DCGM_FI_DEV_MEM_CLOCK", entity, 1593);
  e.add("DCGM_FI_DEV_GPU_TEMP", entity, g.temperature);
  e.add("DCGM_FI_DEV_MEMORY_TEMP", entity, g.temperature + 5);
  e.add("DCGM_FI_DEV_POWER_USAGE", entity, g.power);
  e.add("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", entity, g.energyMj);
  e.add("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", entity, g.pcieReplays);
  e.add("DCGM_FI_DEV_XID_ERRORS", entity, g.xid, { err_code: String(g.xid), err_msg: XID_MESSAGES[g.xid] ?? "Unknown Error" });
  e.add("DCGM_FI_DEV_VGPU_LICENSE_STATUS", entity, 0);
  e.add("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", entity, 0);
  e.add("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", entity, 0);
  e.add("DCGM_FI_DEV_ROW_REMAP_FAILURE", entity, 0);
  e.add("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", entity, g.eccSingleBit);
  e.add("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", entity, g.eccDoubleBit);
  e.add("DCGM_FI_DEV_THERMAL_VIOLATION", entity, g.thermalViolationNs);
  e.add("DCGM_FI_DEV_POWER_VIOLATION", entity, g.powerViolationNs);
  e.add("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", entity, 0);
  e.add("DCGM_FI_PROF_PCIE_TX_BYTES", entity, g.pcieTxBytesPerSec);
  e.add("DCGM_FI_PROF_PCIE_RX_BYTES", entity, g.pcieRxBytesPerSec);
}

function addProfiling(e: Exposition, entity: Entity, s: SlotState): void {
  const ratio = s.util / 100;
  e.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", entity, ratio);
  e.add("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", entity, ratio * 0.62);
  e.add("DCGM_FI_PROF_DRAM_ACTIVE", entity, ratio * 0.48);
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
