import { DEFAULT_EXPORTER_HOST_TARGET } from "../../config/defaults";
import { unsetSecretProblem, type ConfigProblem } from "../../config/errors";
import type { StackConfig } from "../../config/resolve";
import type { KubernetesConfig } from "./config";

/**
 * Cross-field checks of the Kubernetes settings against the rest of the stack config. Imports
 * only types and the config defaults, so the config loader can run them without an import cycle.
 */

/** Pulumi secret keys the Kubernetes settings name (remote-write credentials). */
export function remoteWriteSecretKeys(kc: KubernetesConfig): string[] {
  const keys = kc.prometheus.remoteWrite.flatMap((rw) => [rw.basicAuth?.passwordSecretKey, rw.bearerTokenSecretKey]);
  return [...new Set(keys.filter((k): k is string => k !== undefined))].sort();
}

const QUANTITY_UNITS: Readonly<Record<string, number>> = {
  "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
const SIZE_UNITS: Readonly<Record<string, number>> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50, EB: 2 ** 60 };

/** Bytes of a Kubernetes quantity ("50Gi"), or undefined for a form not used for storage. */
export function quantityBytes(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q);
  return m ? Number(m[1]) * (QUANTITY_UNITS[m[2] ?? ""] ?? NaN) : undefined;
}

/** Bytes of a Prometheus retention size ("20GB" = 20 GiB, as Prometheus counts). */
function retentionBytes(size: string): number | undefined {
  const m = /^(\d+)(B|KB|MB|GB|TB|PB|EB)$/.exec(size);
  return m ? Number(m[1]) * (SIZE_UNITS[m[2]!] ?? NaN) : undefined;
}

export function kubernetesConfigProblems(cfg: StackConfig): ConfigProblem[] {
  if (cfg.platform !== "kubernetes") return [];
  const kc = cfg.kubernetes;
  const problems: ConfigProblem[] = [];
  kc.prometheus.remoteWrite.forEach((rw, i) => {
    const refs: [string, string | undefined][] = [
      [`kubernetes.prometheus.remoteWrite.${i}.basicAuth.passwordSecretKey`, rw.basicAuth?.passwordSecretKey],
      [`kubernetes.prometheus.remoteWrite.${i}.bearerTokenSecretKey`, rw.bearerTokenSecretKey],
    ];
    for (const [key, name] of refs) {
      if (name !== undefined && !cfg.secretKeys.includes(name)) {
        problems.push(unsetSecretProblem(key));
      }
    }
  });
  if (kc.prometheus.replicas > 1 && kc.prometheus.replicaLabel in cfg.externalLabels) {
    problems.push({
      key: "kubernetes.prometheus.replicaLabel",
      message: "the HA replica label is also set in externalLabels",
      got: JSON.stringify(kc.prometheus.replicaLabel),
      allowed: "a label name not in externalLabels",
    });
  }
  // host.docker.internal exists on a Docker host, not in a cluster.
  if (cfg.components.exporter && cfg.exporter.run === "host" && cfg.exporter.hostTarget === DEFAULT_EXPORTER_HOST_TARGET) {
    problems.push({
      key: "exporter.hostTarget",
      message: "the exporter runs on the hosts, but its scrape target is the Docker-only default",
      got: JSON.stringify(cfg.exporter.hostTarget),
      allowed: "host:port where Prometheus reaches the host-run exporter, or exporter.run: container",
    });
  }
  // Prometheus deletes blocks only past the retention size; a smaller volume fills up first.
  const volume = quantityBytes(kc.storage.prometheus);
  const retention = retentionBytes(cfg.retention.size);
  if (cfg.components.prometheus && volume !== undefined && retention !== undefined && volume <= retention) {
    problems.push({
      key: "kubernetes.storage.prometheus",
      message: `the Prometheus volume is not larger than retention.size (${cfg.retention.size})`,
      got: JSON.stringify(kc.storage.prometheus),
      allowed: `a size above ${cfg.retention.size}, with room for the WAL (e.g. 25% more)`,
    });
  }
  return problems;
}
