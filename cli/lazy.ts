/**
 * Loads a module of this package when a command runs rather than when the CLI starts, so `--help`
 * and light commands do not pay for the component library or the Grafana SDK.
 *
 * The package runs from its TypeScript sources. The bin registers tsx's require hook, which
 * resolves an extensionless path to the .ts file; vitest has no require hook but resolves an
 * import() of the .ts file. The specifier goes through a variable because the type checker would
 * otherwise ask for a compiled extension; the caller names the module's type.
 */
export async function loadLazily<T>(specifierFromCommands: string): Promise<T> {
  const specifier = specifierFromCommands.replace(/^\.\.\//, "./");
  if (".ts" in require.extensions) return require(specifier) as T;
  return (await import(`${specifier}.ts`)) as T;
}
