import type { RunOptions } from "./harness";

/** Every option that adds objects or fields: HA, remote write, ingress, both exporter workloads, storage class, runtime class. */
export const MAXIMAL = {
  secrets: { remoteWritePassword: "rw-password", thanosToken: "rw-token" },
  kubernetes: {
    storage: { storageClassName: "fast-ssd", prometheus: "100Gi", alertmanager: "1Gi", grafana: "10Gi" },
    gpuNodes: { nodeSelector: { "nvidia.com/gpu.present": "true" }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }], runtimeClassName: "nvidia" },
    prometheus: {
      replicas: 2,
      remoteWrite: [
        { url: "https://mimir.example.org/api/v1/push", basicAuth: { username: "gpu-cluster", passwordSecretKey: "remoteWritePassword" } },
        { url: "https://thanos.example.org/api/v1/receive", bearerTokenSecretKey: "thanosToken" },
      ],
    },
    alertmanager: { replicas: 3 },
    grafana: { ingress: { enabled: true, host: "grafana.example.org", ingressClassName: "nginx", tlsSecretName: "grafana-tls", annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" } } },
    exporterWorkloads: "both",
    resources: { prometheus: { memoryLimit: "8Gi" } },
  },
} as const satisfies RunOptions;

