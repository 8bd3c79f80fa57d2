import { PHYSICAL_GPU_LABELS, agg, cadvisor, call, dcgm, ds01, eq, measured, node, perPhysicalGpu, range, re, recorded, sel, stack } from "../../metrics";
import type { RuleContext } from "../context";
import { alert, humanized, input, num, type AlertingRule, type RuleGroup, type RuleSet } from "../model";
import { ds01RecordingGroups } from "./ds01-recording";
import { SENTINEL_SAMPLE, allocationLabels, fullGpuAllocation, gpuLabels, migAllocation, migLabels } from "./fixtures";

/**
 * DS01 parity: DS01's own alerts, under DS01's names so existing silences and runbooks match.
 * Where DS01's expression could never fire or fired wrongly, the condition is kept and the
 * expression fixed; each such place says why.
 */


function gpuAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.ds01;
  const jobs = { exporter: ctx.jobs.exporter, dcgm: ctx.jobs.dcgmExporter };
  const waste = num(t.gpuWasteUtilizationPercent);
  const temp = measured(sel(dcgm.DCGM_FI_DEV_GPU_TEMP));
  // One series per physical GPU: on a MIG GPU DCGM repeats device fields per instance.
  const gpuTemp = perPhysicalGpu(temp);
  const tempLabels = { gpu: "0", UUID: "GPU-0", modelName: "NVIDIA A100-SXM4-40GB", Hostname: "gpu-host-1", instance: "dcgm-exporter:9400", job: jobs.dcgm };
  const used = measured(sel(dcgm.DCGM_FI_DEV_FB_USED));
  const free = measured(sel(dcgm.DCGM_FI_DEV_FB_FREE));
  const memRatio = num(t.gpuMemoryPercent / 100);
  // Halfway between the limit and completely full, in percent.
  const fullShare = (t.gpuMemoryPercent + 100) / 2;

  const temperatureAlert = (name: string, threshold: number, forDuration: string, severity: "warning" | "critical", word: string) =>
    alert({
      alert: name,
      expr: `${gpuTemp} > ${num(threshold)}`,
      for: forDuration,
      severity,
      family: "gpu_temperature",
      summary: `GPU {{ $labels.gpu }} temperature ${word} (above ${num(threshold)}C)`,
      description: "GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on {{ $labels.instance }} is at {{ $value }}C.",
      condition: `hottest reading of a physical GPU above the ${word} temperature`,
      thresholds: { [`ds01.gpuTemperature${severity === "critical" ? "Critical" : "Warning"}Celsius`]: threshold },
      cases: [
        {
          name: "hot for longer than the hold time fires",
          input: [input(dcgm.DCGM_FI_DEV_GPU_TEMP, gpuLabels("0", jobs.dcgm), `${num(threshold + 3)}x20`)],
          at: "15m",
          expect: [
            {
              labels: tempLabels,
              summary: `GPU 0 temperature ${word} (above ${num(threshold)}C)`,
              description: `GPU 0 (NVIDIA A100-SXM4-40GB) on dcgm-exporter:9400 is at ${num(threshold + 3)}C.`,
            },
          ],
        },
        {
          name: "at the threshold stays quiet",
          input: [input(dcgm.DCGM_FI_DEV_GPU_TEMP, gpuLabels("0", jobs.dcgm), `${num(threshold)}x20`)],
          at: "15m",
          expect: [],
        },
        {
          name: "a blank DCGM sample is not a temperature",
          input: [input(dcgm.DCGM_FI_DEV_GPU_TEMP, gpuLabels("0", jobs.dcgm), `${SENTINEL_SAMPLE}x20`)],
          at: "15m",
          expect: [],
        },
      ],
    });

  return [
    alert({
      alert: "DS01GPUWaste",
      expr: `(${sel(ds01.ds01_gpu_allocated)} == 1) and on(gpu_slot) (${recorded["ds01:gpu_utilization_by_slot"].name} < ${waste})`,
      for: "30m",
      severity: "warning",
      summary: "Allocated GPU is idle",
      description: `GPU {{ $labels.gpu_slot }} allocated to {{ $labels.container }} ({{ $labels.user }}) has been below ${waste}% utilisation.`,
      condition: "an allocated GPU or MIG slot below the waste utilisation",
      thresholds: { "ds01.gpuWasteUtilizationPercent": t.gpuWasteUtilizationPercent },
      cases: [
        {
          name: "an idle full GPU fires after the hold time",
          input: fullGpuAllocation("0", "train-1", "alice", `${num(t.gpuWasteUtilizationPercent / 2)}x60`, jobs),
          at: "40m",
          expect: [
            {
              labels: allocationLabels("0", "train-1", "alice", jobs.exporter),
              summary: "Allocated GPU is idle",
              description: `GPU 0 allocated to train-1 (alice) has been below ${waste}% utilisation.`,
            },
          ],
        },
        {
          name: "an idle MIG slot fires (GR_ENGINE_ACTIVE is a 0-1 ratio, scaled to percent)",
          input: migAllocation("1", "0", "2", "nb-2", "bob", `${num(t.gpuWasteUtilizationPercent / 200)}x60`, jobs),
          at: "40m",
          expect: [
            {
              labels: allocationLabels("1.0", "nb-2", "bob", jobs.exporter),
              summary: "Allocated GPU is idle",
              description: `GPU 1.0 allocated to nb-2 (bob) has been below ${waste}% utilisation.`,
            },
          ],
        },
        {
          name: "a busy MIG slot stays quiet (an unscaled ratio would read as idle)",
          input: migAllocation("1", "0", "2", "nb-2", "bob", "0.3x60", jobs),
          at: "40m",
          expect: [],
        },
        {
          name: "idle for less than the hold time stays quiet",
          input: fullGpuAllocation("0", "train-1", "alice", `${num(t.gpuWasteUtilizationPercent / 2)}x60`, jobs),
          at: "20m",
          expect: [],
        },
        {
          name: "a blank DCGM sample is not idleness",
          input: fullGpuAllocation("0", "train-1", "alice", `${SENTINEL_SAMPLE}x60`, jobs),
          at: "40m",
          expect: [],
        },
      ],
    }),
    temperatureAlert("DS01GPUHighTemperature", t.gpuTemperatureWarningCelsius, "5m", "warning", "high"),
    temperatureAlert("DS01GPUCriticalTemperature", t.gpuTemperatureCriticalCelsius, "2m", "critical", "critical"),
    alert({
      alert: "DS01GPUMemoryHigh",
      expr: `(${used} / (${used} + ${free})) > ${memRatio}`,
      for: "10m",
      severity: "warning",
      summary: `GPU memory usage above ${num(t.gpuMemoryPercent)}%`,
      description: "GPU {{ $labels.gpu }} on {{ $labels.instance }} framebuffer is {{ $value | humanizePercentage }} full.",
      condition: "framebuffer used / (used + free) above the limit",
      thresholds: { "ds01.gpuMemoryPercent": t.gpuMemoryPercent },
      cases: [
        {
          name: "a nearly full framebuffer fires",
          input: [
            input(dcgm.DCGM_FI_DEV_FB_USED, gpuLabels("0", jobs.dcgm), `${num(fullShare * 400)}x20`),
            input(dcgm.DCGM_FI_DEV_FB_FREE, gpuLabels("0", jobs.dcgm), `${num(40000 - fullShare * 400)}x20`),
          ],
          at: "15m",
          expect: [
            {
              labels: gpuLabels("0", jobs.dcgm),
              summary: `GPU memory usage above ${num(t.gpuMemoryPercent)}%`,
              description: `GPU 0 on dcgm-exporter:9400 framebuffer is ${humanized(fullShare)}% full.`,
            },
          ],
        },
        {
          name: "half full stays quiet",
          input: [
            input(dcgm.DCGM_FI_DEV_FB_USED, gpuLabels("0", jobs.dcgm), "20000x20"),
            input(dcgm.DCGM_FI_DEV_FB_FREE, gpuLabels("0", jobs.dcgm), "20000x20"),
          ],
          at: "15m",
          expect: [],
        },
        {
          name: "a blank used-memory sample does not read as full",
          input: [
            input(dcgm.DCGM_FI_DEV_FB_USED, gpuLabels("0", jobs.dcgm), `${SENTINEL_SAMPLE}x20`),
            input(dcgm.DCGM_FI_DEV_FB_FREE, gpuLabels("0", jobs.dcgm), "1000x20"),
          ],
          at: "15m",
          expect: [],
        },
      ],
    }),
  ];
}

function containerAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.ds01;
  const named = { name: re(".+") } as const;
  const cpu = (name: string, perSecond: number) =>
    input(cadvisor.container_cpu_usage_seconds_total, { name, id: `/docker/${name}`, cpu: "total", instance: "cadvisor:8080", job: ctx.jobs.cadvisor }, `0+${num(perSecond * 60)}x60`);
  const mem = (limit: string, used: string) => [
    input(cadvisor.container_memory_working_set_bytes, { name: "train-1", id: "/docker/train-1", instance: "cadvisor:8080", job: ctx.jobs.cadvisor }, `${used}x30`),
    input(cadvisor.container_spec_memory_limit_bytes, { name: "train-1", id: "/docker/train-1", instance: "cadvisor:8080", job: ctx.jobs.cadvisor }, `${limit}x30`),
  ];
  const cores = t.containerCpuPercent / 100;
  return [
    alert({
      alert: "DS01ContainerHighCPU",
      expr: `${agg("sum", call("rate", range(cadvisor.container_cpu_usage_seconds_total, "5m", named)), ["instance", "name"])} * 100 > ${num(t.containerCpuPercent)}`,
      for: "30m",
      severity: "info",
      summary: "Container high CPU usage",
      description: `{{ $labels.name }} has used {{ $value | printf "%.0f" }}% CPU (100% is one core; the limit is ${num(t.containerCpuPercent)}%).`,
      condition: "a container's CPU, in percent of one core, above the limit",
      thresholds: { "ds01.containerCpuPercent": t.containerCpuPercent },
      cases: [
        {
          name: "one more core than the limit for the hold time fires",
          input: [cpu("train-1", cores + 1)],
          at: "45m",
          expect: [
            {
              labels: { instance: "cadvisor:8080", name: "train-1" },
              summary: "Container high CPU usage",
              description: `train-1 has used ${num(t.containerCpuPercent + 100)}% CPU (100% is one core; the limit is ${num(t.containerCpuPercent)}%).`,
            },
          ],
        },
        { name: "half the limit stays quiet", input: [cpu("train-1", cores / 2)], at: "45m", expect: [] },
      ],
    }),
    alert({
      alert: "DS01ContainerHighMemory",
      // cAdvisor's working set (what the OOM killer weighs); a limit of 0 means no limit.
      expr: `(${sel(cadvisor.container_memory_working_set_bytes, named)} / ${sel(cadvisor.container_spec_memory_limit_bytes, named)}) > ${num(t.containerMemoryPercent / 100)} and ${sel(cadvisor.container_spec_memory_limit_bytes, named)} > 0`,
      for: "15m",
      severity: "warning",
      summary: "Container near memory limit",
      description: "{{ $labels.name }} is using {{ $value | humanizePercentage }} of its memory limit.",
      condition: "a container's working set above a share of its memory limit",
      thresholds: { "ds01.containerMemoryPercent": t.containerMemoryPercent },
      cases: [
        {
          name: "near the limit fires",
          input: mem("1000000000", num(Math.min(1, t.containerMemoryPercent / 100 + 0.05) * 1e9)),
          at: "20m",
          expect: [
            {
              labels: { name: "train-1", id: "/docker/train-1", instance: "cadvisor:8080", job: ctx.jobs.cadvisor },
              summary: "Container near memory limit",
              description: `train-1 is using ${humanized(Math.min(100, t.containerMemoryPercent + 5))}% of its memory limit.`,
            },
          ],
        },
        { name: "a container without a limit stays quiet", input: mem("0", "950000000"), at: "20m", expect: [] },
      ],
    }),
  ];
}

interface DownSpec {
  readonly alert: string;
  readonly job: string;
  readonly for: string;
  readonly severity: "warning" | "critical";
  readonly summary: string;
  readonly description: string;
}

function targetDownAlert(spec: DownSpec): AlertingRule {
  const target = { job: spec.job, instance: `${spec.job}:9000` };
  return alert({
    alert: spec.alert,
    expr: `${sel(stack.up, { job: eq(spec.job) })} == 0`,
    for: spec.for,
    severity: spec.severity,
    summary: spec.summary,
    description: `${spec.description} ({{ $labels.instance }} of job {{ $labels.job }} cannot be scraped).`,
    condition: `a target of job \`${spec.job}\` fails its scrapes`,
    cases: [
      {
        name: "a failing target fires",
        input: [input(stack.up, target, "0x15")],
        at: "10m",
        expect: [{ labels: target, summary: spec.summary, description: `${spec.description} (${target.instance} of job ${spec.job} cannot be scraped).` }],
      },
      { name: "a healthy target stays quiet", input: [input(stack.up, target, "1x15")], at: "10m", expect: [] },
    ],
  });
}

function systemAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.ds01;
  const j = ctx.jobs;
  const root = { mountpoint: eq("/") } as const;
  const rootFree = `(${sel(node.node_filesystem_avail_bytes, root)} / ${sel(node.node_filesystem_size_bytes, root)})`;
  const fsLabels = { device: "/dev/nvme0n1p2", fstype: "ext4", mountpoint: "/", instance: "node-exporter:9100", job: j.nodeExporter };
  const rootFs = (freePercent: number) => [
    input(node.node_filesystem_avail_bytes, fsLabels, `${num(freePercent * 1e9)}x30`),
    input(node.node_filesystem_size_bytes, fsLabels, "100000000000x30"),
  ];
  const rootAlert = (name: string, freePercent: number, forDuration: string, summary: string, key: string) =>
    alert({
      alert: name,
      expr: `${rootFree} < ${num(freePercent / 100)}`,
      for: forDuration,
      severity: "warning",
      summary,
      description: "The root filesystem of {{ $labels.instance }}, where container volumes and Prometheus's data live, has {{ $value | humanizePercentage }} free.",
      condition: "free space on `/` below a share of its size",
      thresholds: { [key]: freePercent },
      cases: [
        {
          name: "little space left fires",
          input: rootFs(freePercent / 2),
          at: "20m",
          expect: [
            {
              labels: fsLabels,
              summary,
              description: `The root filesystem of node-exporter:9100, where container volumes and Prometheus's data live, has ${humanized(freePercent / 2)}% free.`,
            },
          ],
        },
        { name: "plenty of space stays quiet", input: rootFs(Math.min(100, freePercent + 30)), at: "20m", expect: [] },
      ],
    });
  const stateDisk = (free: number) => [
    input(ds01.ds01_state_disk_bytes, { type: "free", instance: "ds01-exporter:9101", job: j.exporter }, `${num(free)}x20`),
    input(ds01.ds01_state_disk_bytes, { type: "total", instance: "ds01-exporter:9101", job: j.exporter }, "100x20"),
  ];
  const nodeTarget = { instance: "node-exporter:9100", job: j.nodeExporter };
  const cpus = (n: number) =>
    Array.from({ length: n }, (_, i) => input(node.node_cpu_seconds_total, { cpu: String(i), mode: "idle", ...nodeTarget }, "0+60x30"));
  const cpuCount = 4;
  const loadLimit = cpuCount * t.loadPerCpu;
  const memory = (availPercent: number) => [
    input(node.node_memory_MemAvailable_bytes, nodeTarget, `${num(availPercent * 1e9)}x20`),
    input(node.node_memory_MemTotal_bytes, nodeTarget, "100000000000x20"),
  ];
  const xidCode = (code: number) => ({ err_code: String(code), err_msg: XID_TEXT[code] ?? "Unknown Error" });
  const xidLabels = (code: number) => ({ ...gpuLabels("0", j.dcgmExporter), ...xidCode(code) });
  const xid = (code: number, values: string) => input(dcgm.DCGM_FI_DEV_XID_ERRORS, xidLabels(code), values);
  const xidSeries = dcgm.DCGM_FI_DEV_XID_ERRORS;
  const xidNow = perPhysicalGpu(measured(sel(xidSeries)), ["err_code", "err_msg"]);
  const xidCodesSeen = agg("count", agg("count", measured(call("last_over_time", range(xidSeries, "10m"))), [...PHYSICAL_GPU_LABELS, "err_code"]), PHYSICAL_GPU_LABELS);

  return [
    targetDownAlert({ alert: "DS01ExporterDown", job: j.exporter, for: "2m", severity: "critical", summary: "DS01 exporter is down", description: "DS01 allocation metrics are not being collected" }),
    targetDownAlert({ alert: "DS01NodeExporterDown", job: j.nodeExporter, for: "2m", severity: "warning", summary: "Node exporter is down", description: "System metrics are not being collected" }),
    targetDownAlert({ alert: "DS01CAdvisorDown", job: j.cadvisor, for: "5m", severity: "warning", summary: "cAdvisor is down", description: "Per-container metrics are not being collected" }),
    alert({
      alert: "DS01DiskSpaceLow",
      // DS01's original divided series that differ in `type` without ignoring it, so it never matched.
      expr: `(${sel(ds01.ds01_state_disk_bytes, { type: eq("free") })} / ignoring(type) ${sel(ds01.ds01_state_disk_bytes, { type: eq("total") })}) < ${num(t.stateDiskFreePercent / 100)}`,
      for: "5m",
      severity: "warning",
      summary: "DS01 state directory low on space",
      description: "The filesystem holding DS01's state has {{ $value | humanizePercentage }} free.",
      condition: "free space on DS01's state filesystem below a share of its size",
      thresholds: { "ds01.stateDiskFreePercent": t.stateDiskFreePercent },
      cases: [
        {
          name: "little space left fires",
          input: stateDisk(t.stateDiskFreePercent / 2),
          at: "10m",
          expect: [
            {
              labels: { instance: "ds01-exporter:9101", job: j.exporter },
              summary: "DS01 state directory low on space",
              description: `The filesystem holding DS01's state has ${humanized(t.stateDiskFreePercent / 2)}% free.`,
            },
          ],
        },
        { name: "plenty of space stays quiet", input: stateDisk(Math.min(100, t.stateDiskFreePercent + 30)), at: "10m", expect: [] },
      ],
    }),
    rootAlert("DS01PrometheusStorageLow", t.rootDiskFreeLowPercent, "5m", "Prometheus storage low", "ds01.rootDiskFreeLowPercent"),
    rootAlert("DS01HighDiskUsage", t.rootDiskFreeWarningPercent, "10m", `Root filesystem below ${num(t.rootDiskFreeWarningPercent)}% free space`, "ds01.rootDiskFreeWarningPercent"),
    alert({
      alert: "DS01HighSystemLoad",
      // Per host: DS01's version compared every host's load with one label-less count, which never matched.
      expr: `${sel(node.node_load15)} > on(instance, job) (${agg("count", sel(node.node_cpu_seconds_total, { mode: eq("idle") }), ["instance", "job"])} * ${num(t.loadPerCpu)})`,
      for: "15m",
      severity: "warning",
      summary: "High system load",
      description: `15-minute load average on {{ $labels.instance }} is {{ $value }}, above ${num(t.loadPerCpu)} per CPU.`,
      condition: "15-minute load above a multiple of the CPU count",
      thresholds: { "ds01.loadPerCpu": t.loadPerCpu },
      cases: [
        {
          name: "load above the CPU share fires",
          input: [...cpus(cpuCount), input(node.node_load15, nodeTarget, `${num(loadLimit + 2)}x30`)],
          at: "20m",
          expect: [
            {
              labels: nodeTarget,
              summary: "High system load",
              description: `15-minute load average on node-exporter:9100 is ${num(loadLimit + 2)}, above ${num(t.loadPerCpu)} per CPU.`,
            },
          ],
        },
        { name: "light load stays quiet", input: [...cpus(cpuCount), input(node.node_load15, nodeTarget, `${num(loadLimit / 2)}x30`)], at: "20m", expect: [] },
      ],
    }),
    alert({
      alert: "DS01LowMemory",
      expr: `(${sel(node.node_memory_MemAvailable_bytes)} / ${sel(node.node_memory_MemTotal_bytes)}) < ${num(t.memoryAvailablePercent / 100)}`,
      for: "5m",
      severity: "warning",
      summary: "Low available memory",
      description: "{{ $labels.instance }} has {{ $value | humanizePercentage }} of its memory available.",
      condition: "available memory below a share of the total",
      thresholds: { "ds01.memoryAvailablePercent": t.memoryAvailablePercent },
      cases: [
        {
          name: "little memory left fires",
          input: memory(t.memoryAvailablePercent / 2),
          at: "10m",
          expect: [
            {
              labels: nodeTarget,
              summary: "Low available memory",
              description: `node-exporter:9100 has ${humanized(t.memoryAvailablePercent / 2)}% of its memory available.`,
            },
          ],
        },
        { name: "plenty of memory stays quiet", input: memory(Math.min(100, t.memoryAvailablePercent + 30)), at: "10m", expect: [] },
      ],
    }),
    alert({
      alert: "DS01MIGMappingMismatch",
      // Gated on MIG existing: without MIG instances there is nothing to map.
      expr: `${sel(ds01.ds01_mig_mapping_status)} == 0 and on() (${agg("count", sel(ds01.ds01_mig_slot_info))} > 0)`,
      for: "5m",
      severity: "warning",
      summary: "MIG topology mismatch detected",
      description:
        "{{ $labels.unmapped }} device(s) held by containers map to no slot ({{ $labels.mapped }} MIG devices mapped). The DCGM exporter may need a restart after a partition change.",
      condition: "a held MIG UUID maps to no known slot, on a host with MIG instances",
      cases: [
        {
          name: "an unmapped MIG instance fires",
          input: [
            input(ds01.ds01_mig_mapping_status, { mapped: "1", unmapped: "2", instance: "ds01-exporter:9101", job: j.exporter }, "0x20"),
            input(ds01.ds01_mig_slot_info, { gpu: "1", gpu_i_id: "2", slot: "1.0", mig_uuid: "MIG-1.0", profile: "3g.20gb", instance: "ds01-exporter:9101", job: j.exporter }, "1x20"),
          ],
          at: "10m",
          expect: [
            {
              labels: { mapped: "1", unmapped: "2", instance: "ds01-exporter:9101", job: j.exporter },
              summary: "MIG topology mismatch detected",
              description: "2 device(s) held by containers map to no slot (1 MIG devices mapped). The DCGM exporter may need a restart after a partition change.",
            },
          ],
        },
        {
          name: "a host without MIG stays quiet",
          input: [input(ds01.ds01_mig_mapping_status, { mapped: "0", unmapped: "1", instance: "ds01-exporter:9101", job: j.exporter }, "0x20")],
          at: "10m",
          expect: [],
        },
      ],
    }),
    targetDownAlert({ alert: "DS01DCGMExporterDown", job: j.dcgmExporter, for: "5m", severity: "critical", summary: "DCGM exporter is down", description: "GPU hardware metrics are not being collected" }),
    targetDownAlert({ alert: "DS01GrafanaDown", job: j.grafana, for: "5m", severity: "warning", summary: "Grafana is down", description: "Dashboards are not being served" }),
    targetDownAlert({ alert: "DS01AlertmanagerDown", job: j.alertmanager, for: "3m", severity: "critical", summary: "Alertmanager is down", description: "Alert routing and notifications are not working" }),
    alert({
      alert: "DS01GPUXIDError",
      // The field holds the last XID and its err_code/err_msg labels follow it, so a new XID is a
      // new series: changes() never sees it. A new error is a GPU whose current code is not 0 and
      // that showed another code within the window. Per physical GPU: MIG instances repeat it.
      expr: `(${xidNow} > 0) and on(${PHYSICAL_GPU_LABELS.join(", ")}) (${xidCodesSeen} > 1)`,
      for: "1m",
      severity: "critical",
      summary: "GPU XID error detected",
      description: "GPU {{ $labels.gpu }} on {{ $labels.instance }} reported XID error {{ $value }} ({{ $labels.err_msg }}).",
      condition: "the GPU's last XID code is not 0 and differs from one it reported in the last 10 minutes",
      cases: [
        {
          name: "a new XID code (a new err_code series) fires",
          // A series the exporter stops publishing is marked stale by the next scrape.
          input: [xid(0, "0x5 stale"), xid(79, "_x5 79x10")],
          at: "9m",
          expect: [
            {
              labels: xidLabels(79),
              summary: "GPU XID error detected",
              description: "GPU 0 on dcgm-exporter:9400 reported XID error 79 (GPU has fallen off the bus).",
            },
          ],
        },
        { name: "an old latched code stays quiet", input: [xid(13, "13x30")], at: "25m", expect: [] },
        { name: "a code back to 0 stays quiet", input: [xid(79, "79x5 stale"), xid(0, "_x5 0x10")], at: "9m", expect: [] },
        {
          name: "a MIG GPU's instances repeat the XID: one alert for the card",
          input: ["1", "2"].flatMap((gi) => [
            input(dcgm.DCGM_FI_DEV_XID_ERRORS, { ...migLabels("0", gi, j.dcgmExporter), ...xidCode(0) }, "0x5 stale"),
            input(dcgm.DCGM_FI_DEV_XID_ERRORS, { ...migLabels("0", gi, j.dcgmExporter), ...xidCode(43) }, "_x5 43x10"),
          ]),
          at: "9m",
          expect: [
            {
              labels: xidLabels(43),
              summary: "GPU XID error detected",
              description: "GPU 0 on dcgm-exporter:9400 reported XID error 43 (GPU stopped processing).",
            },
          ],
        },
      ],
    }),
  ];
}

/** dcgm-exporter's err_msg for the XID codes the cases use (its xidErrCodeToText table). */
const XID_TEXT: Readonly<Record<number, string>> = { 0: "No Error", 13: "Graphics Engine Exception", 43: "GPU stopped processing", 79: "GPU has fallen off the bus" };

function userAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.ds01;
  const jobs = { exporter: ctx.jobs.exporter, dcgm: ctx.jobs.dcgmExporter };
  const dcgmUp = (v: string) => input(stack.up, { job: jobs.dcgm, instance: "dcgm-exporter:9400" }, v);
  const idle = num(t.userGpuWasteUtilizationPercent / 2);
  const busy = num(Math.min(100, t.gpuWasteUtilizationPercent + 50));
  const allocations = (idleCount: number, total: number) =>
    Array.from({ length: total }, (_, i) => fullGpuAllocation(String(i), `c${i}`, `user${i}`, i < idleCount ? `${num(t.gpuWasteUtilizationPercent / 2)}x60` : `${busy}x60`, jobs)).flat();
  const minAlloc = Math.floor(t.systemGpuWasteMinAllocations);
  const manyTotal = minAlloc + 1;
  const manyIdle = Math.min(manyTotal, Math.floor((manyTotal * t.systemGpuWastePercent) / 100) + 1);
  const manyPercent = (manyIdle / manyTotal) * 100;
  return [
    alert({
      alert: "DS01UserGPUWaste",
      // Gated on DCGM being up: without DCGM utilisation reads as absent, not as idle.
      expr: `${recorded["ds01:user_gpu_utilization_avg"].name} < ${num(t.userGpuWasteUtilizationPercent)} and on() (${sel(stack.up, { job: eq(jobs.dcgm) })} == 1)`,
      for: "2h",
      severity: "warning",
      summary: "User {{ $labels.user }} has low GPU utilization",
      description: 'User {{ $labels.user }} has averaged {{ $value | printf "%.1f" }}% GPU utilisation for over 2 hours. Consider releasing unused GPUs.',
      condition: "a user's average utilisation over their slots below the limit while DCGM is up",
      thresholds: { "ds01.userGpuWasteUtilizationPercent": t.userGpuWasteUtilizationPercent },
      cases: [
        {
          name: "a user idle for over two hours fires",
          interval: "5m",
          input: [...fullGpuAllocation("0", "train-1", "alice", `${idle}x40`, jobs), dcgmUp("1x40")],
          at: "150m",
          expect: [
            {
              labels: { user: "alice" },
              summary: "User alice has low GPU utilization",
              description: `User alice has averaged ${(t.userGpuWasteUtilizationPercent / 2).toFixed(1)}% GPU utilisation for over 2 hours. Consider releasing unused GPUs.`,
            },
          ],
        },
        {
          name: "nothing while DCGM is down",
          interval: "5m",
          input: [...fullGpuAllocation("0", "train-1", "alice", `${idle}x40`, jobs), dcgmUp("0x40")],
          at: "150m",
          expect: [],
        },
      ],
    }),
    alert({
      alert: "DS01SystemHighGPUWaste",
      // More than a few allocations: one idle allocation of one is not "high waste".
      expr: `${recorded["ds01:gpu_waste_percent"].name} > ${num(t.systemGpuWastePercent)} and on() (${agg("count", sel(ds01.ds01_gpu_allocated))} > ${num(t.systemGpuWasteMinAllocations)})`,
      for: "30m",
      severity: "warning",
      summary: "High GPU waste across system",
      description: `{{ $value | printf "%.0f" }}% of allocated GPUs are below ${num(t.gpuWasteUtilizationPercent)}% utilisation.`,
      condition: "share of allocated slots that are wasted above the limit, with enough allocations",
      thresholds: { "ds01.systemGpuWastePercent": t.systemGpuWastePercent, "ds01.systemGpuWasteMinAllocations": t.systemGpuWasteMinAllocations },
      cases: [
        {
          name: "most of many allocations idle fires",
          input: allocations(manyIdle, manyTotal),
          at: "40m",
          expect: [
            {
              labels: {},
              summary: "High GPU waste across system",
              description: `${manyPercent.toFixed(0)}% of allocated GPUs are below ${num(t.gpuWasteUtilizationPercent)}% utilisation.`,
            },
          ],
        },
        { name: "a single idle allocation stays quiet", input: allocations(1, 1), at: "40m", expect: [] },
      ],
    }),
  ];
}

function capacityAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.ds01;
  const j = ctx.jobs.exporter;
  const r = recorded;
  const host = (gpus: number, allocated: readonly number[]) => [
    ...Array.from({ length: gpus }, (_, i) =>
      input(ds01.ds01_gpu_slot_info, { gpu: String(i), slot: String(i), gpu_slot: String(i), gpu_uuid: `GPU-${i}`, model: "A100", mig_enabled: "false", instance: "ds01-exporter:9101", job: j }, "1x60"),
    ),
    ...allocated.map((eq, i) =>
      input(ds01.ds01_gpu_equivalents, { gpu_slot: String(i), profile: "full", container: `c${i}`, user: `user${i}`, instance: "ds01-exporter:9101", job: j }, `${num(eq)}x60`),
    ),
  ];
  // Four GPUs with all but a sliver allocated: below both limits at their defaults.
  const lowFree = Math.min(t.gpuCapacityFreeEquivalents, (4 * t.gpuCapacityFreePercent) / 100) / 2;
  const busyHost = host(4, [1, 1, 1, 1 - lowFree]);
  return [
    alert({
      alert: "DS01LowGPUCapacity",
      expr: `(${r["ds01:system_gpu_equivalents_free"].name} / ${r["ds01:system_gpu_equivalents_total"].name}) < ${num(t.gpuCapacityFreePercent / 100)}`,
      for: "30m",
      severity: "info",
      family: "gpu_capacity",
      summary: "Low GPU capacity available",
      description: "Only {{ $value | humanizePercentage }} of GPU compute (GPU-equivalents) is free.",
      condition: "free GPU-equivalents below a share of the total",
      thresholds: { "ds01.gpuCapacityFreePercent": t.gpuCapacityFreePercent },
      cases: [
        {
          name: "nearly everything allocated fires",
          input: busyHost,
          at: "45m",
          expect: [{ labels: {}, summary: "Low GPU capacity available", description: `Only ${humanized((lowFree / 4) * 100)}% of GPU compute (GPU-equivalents) is free.` }],
        },
        { name: "a lightly used host stays quiet", input: host(4, [1]), at: "45m", expect: [] },
      ],
    }),
    alert({
      alert: "DS01CriticalGPUCapacity",
      // Gated on the host having GPUs: with no slot info every count is 0 and "0 free" is noise.
      expr: `${r["ds01:system_gpu_equivalents_free"].name} < ${num(t.gpuCapacityFreeEquivalents)} and on() (${r["ds01:system_gpu_equivalents_total"].name} > 0)`,
      for: "15m",
      severity: "warning",
      family: "gpu_capacity",
      summary: "Critical: Very little GPU capacity available",
      description: 'Only {{ $value | printf "%.2f" }} GPU-equivalents free. Users may be unable to get GPU compute.',
      condition: "fewer free GPU-equivalents than the limit",
      thresholds: { "ds01.gpuCapacityFreeEquivalents": t.gpuCapacityFreeEquivalents },
      cases: [
        {
          name: "less than the limit free fires",
          input: busyHost,
          at: "30m",
          expect: [
            { labels: {}, summary: "Critical: Very little GPU capacity available", description: `Only ${lowFree.toFixed(2)} GPU-equivalents free. Users may be unable to get GPU compute.` },
          ],
        },
        { name: "a host without DS01 GPUs stays quiet", input: [input(stack.up, { job: j, instance: "ds01-exporter:9101" }, "1x60")], at: "30m", expect: [] },
      ],
    }),
  ];
}

export function ds01RuleSet(ctx: RuleContext): RuleSet {
  const groups: RuleGroup[] = [
    { name: "ds01_gpu_alerts", interval: "30s", rules: gpuAlerts(ctx) },
    { name: "ds01_container_alerts", interval: "30s", rules: containerAlerts(ctx) },
    { name: "ds01_system_alerts", interval: "30s", rules: systemAlerts(ctx) },
    { name: "ds01_user_alerts", interval: "30s", rules: userAlerts(ctx) },
    { name: "ds01_capacity_alerts", interval: "5m", rules: capacityAlerts(ctx) },
  ];
  return { id: "ds01", title: "DS01", recording: ds01RecordingGroups(ctx), alerting: groups };
}
