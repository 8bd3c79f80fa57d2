import type { BundleFile } from "./bundle";

/** The bundle files below one folder, with paths relative to it (e.g. "prometheus/"). */
export function filesUnder(bundle: readonly BundleFile[], folder: string): BundleFile[] {
  const prefix = folder.endsWith("/") ? folder : `${folder}/`;
  return bundle.filter((f) => f.path.startsWith(prefix)).map((f) => ({ path: f.path.slice(prefix.length), content: f.content }));
}
