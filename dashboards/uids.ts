/** Stable dashboard UIDs: URLs (/d/<uid>), links between dashboards and bookmarks depend on them. */
export const UID = {
  ds01Overview: "ds01-overview",
  ds01User: "ds01-user",
  ds01History: "ds01-history",
  nvidiaDcgm: "nvidia-dcgm",
  drm: "drm",
  host: "host",
  stackHealth: "stack-health",
  hpcSlurm: "hpc-slurm",
  k8sGpuWorkloads: "k8s-gpu-workloads",
} as const;

export type DashboardUid = (typeof UID)[keyof typeof UID];
