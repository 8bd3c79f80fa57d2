/**
 * Calls `onOrphaned` once when this process's parent goes away (its parent PID changes, as the
 * kernel re-parents an orphan to init or a subreaper). `npx gpu-monitoring exporter &` then
 * `kill $!` signals npm, which exits without passing the signal on; watching the parent stops the
 * exporter too, so it never keeps its ports after the command that started it is gone.
 * A process started by init (systemd) or as a container's first process is never orphaned.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 1_000): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
