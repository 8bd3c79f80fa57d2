/**
 * A source the exporter reads: the Docker engine, a state file, the events log, a DRM
 * coordinator, or the simulation. `read()` returns the latest snapshot or throws; the caller
 * (SourceTracker in exporter/core) records health and keeps the last good snapshot.
 */
export interface Source<T> {
  /** Value of the `source` label in ds01_exporter_source_* metrics, e.g. "docker", "drm". */
  readonly name: string;
  read(): Promise<T>;
  close(): Promise<void>;
  /**
   * Items read but left out of the value because a cap was reached (event types, containers),
   * since the source was created. Sources without a cap leave it out.
   */
  readonly dropped?: () => number;
}
