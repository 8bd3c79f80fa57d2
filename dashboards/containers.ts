import { agg, call, range, re, recorded } from "../metrics";
import { queryResultVariable, type VariableDef } from "./kit/variables";

/**
 * The container panels of the host and DS01 My Usage dashboards: the per-container recordings
 * (alerts/rules/container-recording.ts, one series per container name) and the variables that
 * rank them once over the range, so a panel reads only the containers it draws.
 */

/** Containers drawn per panel: enough for the busy ones, few enough to read with churn. */
export const TOP_CONTAINERS = 10;

export const CONTAINER_CPU = recorded["name:container_cpu_usage_seconds:rate5m"];
export const CONTAINER_MEMORY = recorded["name:container_memory_working_set_bytes:sum"];
export const CONTAINER_MEMORY_LIMIT = recorded["name:container_spec_memory_limit_bytes:sum"];
export const CONTAINER_RECEIVE = recorded["name:container_network_receive_bytes:rate5m"];
export const CONTAINER_TRANSMIT = recorded["name:container_network_transmit_bytes:rate5m"];

const perName = (fn: string, metric: typeof CONTAINER_CPU | typeof CONTAINER_MEMORY | typeof CONTAINER_RECEIVE | typeof CONTAINER_TRANSMIT) =>
  agg("sum", call(fn, range(metric, "$__range")), ["name"]);

/** Rankings over the whole range, one value per container name. */
export const cpuOverRange = perName("avg_over_time", CONTAINER_CPU);
export const memoryOverRange = perName("max_over_time", CONTAINER_MEMORY);
/** Bytes in plus bytes out: cAdvisor reports both for every interface, so no container drops out of the sum. */
export const networkOverRange = `${perName("avg_over_time", CONTAINER_RECEIVE)} + ${perName("avg_over_time", CONTAINER_TRANSMIT)}`;

/**
 * The TOP_CONTAINERS containers that rank highest by `ranking`, an instant query at the range's
 * end that Grafana runs once per load; panels select `name=~"$<name>"`. "All" is the containers
 * listed, never any container, and a list with none sends `()`, which no container name matches.
 */
export function topContainersVariable(name: string, ranking: string, label: string, description: string): VariableDef {
  return queryResultVariable(name, call("topk", TOP_CONTAINERS, ranking), "name", {
    label,
    description,
    multi: true,
    includeAll: true,
    allIsOptions: true,
  });
}

/** Matchers for the containers a top-containers variable lists. */
export const listedIn = (variable: VariableDef) => ({ name: re(`$${variable.name}`) });
