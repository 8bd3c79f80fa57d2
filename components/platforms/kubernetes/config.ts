import { z } from "zod";

/** Kubernetes-only settings (`gpu-monitoring:kubernetes`), used when platform is "kubernetes". */
export const kubernetesSchema = z.strictObject({}).default({});
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
