/**
 * gpu-monitoring as a library: the stack config, the pure service specs and renderers, the
 * platforms, and the components (`MonitoringStack` and one per service).
 */
export * from "./config";
export * from "./platform";
export * from "./platforms";
export * from "./platforms/docker";
// Also registers the Kubernetes platform, so `platform: kubernetes` stacks work through this entry point.
export { KubernetesPlatform } from "./platforms/kubernetes";
export * from "./render";
export * from "./serviceComponent";
export * from "./services";
export * from "./spec";
export * from "./stack";
