export { createDs01Collector, Ds01Collector, type Ds01CollectorOptions } from "./collector";
export { createDockerSource, DockerSource, type DockerSourceOptions, type DockerSourceStats } from "./docker-source";
export { createStateFileSource, StateFileSource, snapshotFromState, gpuStateSchema, type StateFileSourceOptions } from "./state-file-source";
export { createEventsLog, EventsLog, type EventCounts, type EventsLogOptions, type EventsLogStats } from "./events-log";
export { createStateDirSource, StateDirSource, type StateDirOptions, type StateDirUsage } from "./state-dir-source";
export { parseDeviceMap, parseNvidiaSmiList, parseJsonDeviceMap, buildDeviceMap, migProfileEquivalents, type DeviceMap } from "./device-map";
export type * from "./model";
