// prom-client's default collectors, one module each. They are not in its typings; each module
// exports a function that registers its metrics (its optional config, prefix and labels, is not used here).
declare module "prom-client/lib/metrics/*" {
  import type { Registry } from "prom-client";
  function registerCollector(registry: Registry): void;
  export = registerCollector;
}
