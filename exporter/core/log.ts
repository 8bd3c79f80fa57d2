/**
 * The exporter's log: one JSON object per line on stderr, so journald and `docker logs` keep
 * it greppable. Tests swap the sink to capture lines (and prove secrets never reach them).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | undefined>;
export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + "\n");
};

let sink: LogSink = stderrSink;
let quiet = false;

/** Replaces where log lines go; returns a function that restores the previous sink. */
export function setLogSink(next: LogSink): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

/** Silences debug/info lines (tests that start many exporters). */
export function setQuietLog(value: boolean): void {
  quiet = value;
}

export function log(level: LogLevel, msg: string, fields: LogFields = {}): void {
  if (quiet && (level === "debug" || level === "info")) return;
  sink(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
}
