import { classifyContainer, containerInterface, containerUser, unmanagedGpuContainer, type ContainerRecord, type UidResolver } from "./classify";
import type { DeviceMap } from "./device-map";
import type { Allocation, Ds01Container, Ds01Snapshot, UnmanagedGpuContainer } from "./model";

/**
 * Turns Docker containers into a Ds01Snapshot: DS01's containers and their allocations (device
 * IDs mapped to slots through the device map), with infrastructure left out and GPU containers
 * DS01 does not manage counted apart. A device ID the map does not know (a MIG UUID from a
 * reconfigured GPU, a stale map file) counts as unmapped and yields no allocation, because its
 * slot and profile cannot be known.
 */
export function buildSnapshot(records: Iterable<ContainerRecord>, devices: DeviceMap, resolveUid: UidResolver): Ds01Snapshot {
  const containers: Ds01Container[] = [];
  const allocations: Allocation[] = [];
  const unmapped = new Set<string>();
  const unmanaged: UnmanagedGpuContainer[] = [];
  for (const record of records) {
    const kind = classifyContainer(record);
    if (kind === "unmanaged-gpu") {
      unmanaged.push(unmanagedGpuContainer(record));
      continue;
    }
    if (kind !== "ds01") continue;
    const user = containerUser(record, resolveUid);
    const iface = containerInterface(record);
    containers.push({ name: record.name, user, interface: iface, status: record.state });
    const seen = new Set<string>();
    for (const id of record.deviceIds) {
      const device = devices.byUuid.get(id) ?? devices.byIndex.get(id);
      if (!device) {
        unmapped.add(id);
        continue;
      }
      // The same device named twice (UUID in a device request and in a label) is one allocation.
      if (seen.has(device.slot)) continue;
      seen.add(device.slot);
      allocations.push({
        slot: device.slot,
        uuid: device.uuid,
        profile: device.profile,
        gpuEquivalents: device.gpuEquivalents,
        container: record.name,
        user,
        interface: iface,
      });
    }
  }
  return {
    gpus: devices.gpus,
    migDevices: devices.migDevices,
    containers,
    allocations,
    unmanaged,
    migMapping: { mapped: devices.migDevices.length, unmapped: unmapped.size },
  };
}
