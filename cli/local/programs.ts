import { accessSync, constants, existsSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { CliError } from "../errors";

/** The server programs a local stack runs, found on PATH under the names their packages use. */
export const LOCAL_PROGRAMS = {
  prometheus: { names: ["prometheus"], install: "apt-get install prometheus" },
  alertmanager: { names: ["prometheus-alertmanager", "alertmanager"], install: "apt-get install prometheus-alertmanager" },
  nodeExporter: { names: ["prometheus-node-exporter", "node_exporter"], install: "apt-get install prometheus-node-exporter" },
  grafana: { names: ["grafana", "grafana-server"], install: "install Grafana from grafana.com's packages (Debian does not ship it)" },
} as const;

export type ProgramRole = keyof typeof LOCAL_PROGRAMS;

export interface LocalProgram {
  /** The name it was found under (`grafana` and `grafana-server` take different arguments). */
  readonly name: string;
  readonly path: string;
  /** Grafana's home path (conf/defaults.ini, public/), where one is found. */
  readonly home?: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Grafana's packages keep their files in /usr/share/grafana; a tarball has bin/ below its home. */
function grafanaHome(binary: string): string | undefined {
  const candidates = ["/usr/share/grafana", dirname(dirname(realpathSync(binary)))];
  return candidates.find((dir) => existsSync(join(dir, "conf", "defaults.ini")));
}

/** The first of the role's program names that is an executable file on PATH, or undefined. */
export function locateProgram(role: ProgramRole, path: string = process.env.PATH ?? ""): LocalProgram | undefined {
  for (const name of LOCAL_PROGRAMS[role].names) {
    for (const dir of path.split(delimiter).filter((d) => d !== "")) {
      const full = join(dir, name);
      if (!executable(full)) continue;
      const home = role === "grafana" ? grafanaHome(full) : undefined;
      return { name, path: full, ...(home ? { home } : {}) };
    }
  }
  return undefined;
}

/** One error naming every missing program and the command that installs it. */
export function missingProgramsError(roles: readonly ProgramRole[]): CliError {
  const lines = roles.map((r) => `${LOCAL_PROGRAMS[r].names.join(" or ")} (${LOCAL_PROGRAMS[r].install})`);
  const apt = roles.filter((r) => r !== "grafana").map((r) => LOCAL_PROGRAMS[r].install.replace("apt-get install ", ""));
  return new CliError(
    `not found on PATH: ${lines.join("; ")}`,
    apt.length > 0 ? `sudo apt-get install ${apt.join(" ")}` : "install it, or leave it out",
  );
}

/** Checks that every required program is on PATH before anything starts. */
export function requirePrograms(roles: readonly ProgramRole[]): Record<ProgramRole, LocalProgram | undefined> {
  const found = Object.fromEntries(roles.map((r) => [r, locateProgram(r)])) as Record<ProgramRole, LocalProgram | undefined>;
  const missing = roles.filter((r) => found[r] === undefined);
  if (missing.length > 0) throw missingProgramsError(missing);
  return found;
}

/** The path of a required program; throws the install hint when it is not on PATH. */
export function findProgram(role: ProgramRole): string {
  const found = locateProgram(role);
  if (!found) throw missingProgramsError([role]);
  return found.path;
}
