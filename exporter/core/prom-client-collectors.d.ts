// prom-client's default collectors, one module each. They are not in its typings; each module
// exports a function that registers its metrics, with the config collectDefaultMetrics passes on.
declare module "prom-client/lib/metrics/*" {
  import type { Registry } from "prom-client";
  function registerCollector(registry: Registry, config?: { readonly eventLoopMonitoringPrecision?: number }): void;
  export = registerCollector;
}
