import { describe, expect, it } from "vitest";
import { recordingRules } from "../../bench/dashboards/tsdb";
import { testRecordingRules } from "./tools";

/**
 * The per-container cAdvisor recordings (alerts/rules/container-recording.ts) under promtool, on
 * series shaped as cAdvisor writes them for Docker on cgroup v2 with the systemd driver: `id` the
 * container's scope, `name` its Docker name, `image`, `cpu="total"` on the CPU counter, one
 * network series per interface; and unnamed cgroups (the root, system services) beside them.
 */

const TARGET = { instance: "gpu01:8080", job: "cadvisor" };
const IMAGE = "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime";
const scope = (hex: string) => `/system.slice/docker-${hex.repeat(64 / hex.length)}.scope`;
const train = { id: scope("a1"), image: IMAGE, name: "train-1._.1001" };
/** The same container name after a restart: a new cgroup, so a new series. */
const restarted = (l: typeof train) => ({ ...l, id: scope("b2") });
const notebook = { id: scope("c3"), image: IMAGE, name: "notebook._.1002" };
const root = { id: "/", image: "", name: "" };
const sshd = { id: "/system.slice/ssh.service", image: "", name: "" };

type Labels = Record<string, string>;
const series = (name: string, labels: Labels, values: string) => ({
  series: `${name}{${Object.entries({ ...labels, ...TARGET }).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
  values,
});
const sample = (name: string, containerName: string, value: number) => ({ labels: `${name}{name="${containerName}",instance="${TARGET.instance}",job="${TARGET.job}"}`, value });

const promtool = (tests: object) => testRecordingRules(recordingRules(), tests);

describe("per-container cAdvisor recordings", () => {
  it("sum each named container over its cgroups and interfaces, and leave unnamed cgroups out", async () => {
    const result = await promtool({
      interval: "1m",
      input_series: [
        // train-1 runs 2 cores, then restarts at 10m under the same name (the old cgroup goes stale).
        series("container_cpu_usage_seconds_total", { ...train, cpu: "total" }, "0+120x10 stale"),
        series("container_cpu_usage_seconds_total", { ...restarted(train), cpu: "total" }, "_x11 0+60x10"),
        series("container_cpu_usage_seconds_total", { ...notebook, cpu: "total" }, "0+30x21"),
        series("container_cpu_usage_seconds_total", { ...root, cpu: "total" }, "0+6000x21"),
        series("container_cpu_usage_seconds_total", { ...sshd, cpu: "total" }, "0+3x21"),
        series("container_memory_working_set_bytes", train, "8e9x10 stale"),
        series("container_memory_working_set_bytes", restarted(train), "_x11 2e9x10"),
        series("container_memory_working_set_bytes", notebook, "1e9x21"),
        series("container_memory_working_set_bytes", root, "5e11x21"),
        series("container_spec_memory_limit_bytes", train, "32e9x10 stale"),
        series("container_spec_memory_limit_bytes", restarted(train), "_x11 32e9x10"),
        // No limit: cAdvisor reports 0.
        series("container_spec_memory_limit_bytes", notebook, "0x21"),
        // Two interfaces: 100 B/s on eth0, 10 B/s on eth1 received; 50 B/s sent on eth0.
        series("container_network_receive_bytes_total", { ...train, interface: "eth0" }, "0+6000x21"),
        series("container_network_receive_bytes_total", { ...train, interface: "eth1" }, "0+600x21"),
        series("container_network_transmit_bytes_total", { ...train, interface: "eth0" }, "0+3000x21"),
        series("container_network_transmit_bytes_total", { ...train, interface: "eth1" }, "0x21"),
        series("container_network_receive_bytes_total", { ...root, interface: "eno1" }, "0+1e6x21"),
      ],
      promql_expr_test: [
        {
          expr: "name:container_cpu_usage_seconds:rate5m",
          eval_time: "8m",
          exp_samples: [sample("name:container_cpu_usage_seconds:rate5m", train.name, 2), sample("name:container_cpu_usage_seconds:rate5m", notebook.name, 0.5)],
        },
        {
          // After the restart: one train-1 series, from the new cgroup, not the stale one.
          expr: "name:container_cpu_usage_seconds:rate5m",
          eval_time: "20m",
          exp_samples: [sample("name:container_cpu_usage_seconds:rate5m", train.name, 1), sample("name:container_cpu_usage_seconds:rate5m", notebook.name, 0.5)],
        },
        {
          expr: "name:container_memory_working_set_bytes:sum",
          eval_time: "8m",
          exp_samples: [sample("name:container_memory_working_set_bytes:sum", train.name, 8e9), sample("name:container_memory_working_set_bytes:sum", notebook.name, 1e9)],
        },
        {
          expr: "name:container_memory_working_set_bytes:sum",
          eval_time: "12m",
          exp_samples: [sample("name:container_memory_working_set_bytes:sum", train.name, 2e9), sample("name:container_memory_working_set_bytes:sum", notebook.name, 1e9)],
        },
        {
          expr: "name:container_spec_memory_limit_bytes:sum",
          eval_time: "8m",
          exp_samples: [sample("name:container_spec_memory_limit_bytes:sum", train.name, 32e9), sample("name:container_spec_memory_limit_bytes:sum", notebook.name, 0)],
        },
        {
          expr: "name:container_network_receive_bytes:rate5m",
          eval_time: "8m",
          exp_samples: [sample("name:container_network_receive_bytes:rate5m", train.name, 110)],
        },
        {
          expr: "name:container_network_transmit_bytes:rate5m",
          eval_time: "8m",
          exp_samples: [sample("name:container_network_transmit_bytes:rate5m", train.name, 50)],
        },
      ],
    });
    expect(result.output).toContain("SUCCESS");
    expect(result.code, result.output).toBe(0);
  }, 120_000);

  it("evaluate in one group of their own", () => {
    const content = recordingRules();
    expect(content.match(/- name: cadvisor_containers/g)).toHaveLength(1);
    for (const r of ["cpu_usage_seconds:rate5m", "memory_working_set_bytes:sum", "spec_memory_limit_bytes:sum", "network_receive_bytes:rate5m", "network_transmit_bytes:rate5m"])
      expect(content).toContain(`record: name:container_${r}`);
  });
});
