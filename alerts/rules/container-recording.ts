import { agg, cadvisor, call, ne, range, recorded, sel, type MetricDef } from "../../metrics";
import { record, type RuleGroup } from "../model";

/**
 * cAdvisor's container series recorded once per named container: the container panels of the
 * host and DS01 dashboards rank and draw a week of containers, and rating every raw series
 * (one per cgroup id and interface, at the scrape interval) for each load made them the slowest
 * panels there. Unnamed cgroups (system slices, the root) are left out, as the panels leave them
 * out; a container restarted under the same name keeps one series.
 */
const NAMED = { name: ne("") };
/** The target's labels stay, so several hosts keep their containers apart. */
const PER_CONTAINER = ["instance", "job", "name"];

const perContainerRate = (counter: MetricDef) => agg("sum", call("rate", range(counter, "5m", NAMED)), PER_CONTAINER);
const perContainer = (gauge: MetricDef) => agg("sum", sel(gauge, NAMED), PER_CONTAINER);

export function containerRecordingGroups(): RuleGroup[] {
  const r = recorded;
  return [
    {
      name: "cadvisor_containers",
      rules: [
        record(r["name:container_cpu_usage_seconds:rate5m"].name, perContainerRate(cadvisor.container_cpu_usage_seconds_total)),
        record(r["name:container_memory_working_set_bytes:sum"].name, perContainer(cadvisor.container_memory_working_set_bytes)),
        record(r["name:container_spec_memory_limit_bytes:sum"].name, perContainer(cadvisor.container_spec_memory_limit_bytes)),
        record(r["name:container_network_receive_bytes:rate5m"].name, perContainerRate(cadvisor.container_network_receive_bytes_total)),
        record(r["name:container_network_transmit_bytes:rate5m"].name, perContainerRate(cadvisor.container_network_transmit_bytes_total)),
      ],
    },
  ];
}
