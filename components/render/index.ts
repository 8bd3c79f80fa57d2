export * from "./addressing";
export * from "./alertmanager";
export * from "./bundle";
export * from "./grafana";
export * from "./names";
export * from "./prometheus";
export * from "./sources";
export * from "./yaml";
