import { ConfigError, validateStackConfig, type StackConfig } from "../../components/config";

/** A valid dev config; each case of the config suites breaks one thing in it. */
export const BASE: Record<string, unknown> = {
  platform: "docker",
  profile: "dev",
  components: { dcgmExporter: false },
  exporter: { simulation: true },
};

export function validate(plain: Record<string, unknown>, secretKeys: string[] = ["grafanaAdminPassword"]): StackConfig {
  return validateStackConfig({ plain, secretKeys });
}

/** The ConfigError a config raises; throws if it is accepted. */
export function errorOf(plain: Record<string, unknown>, secretKeys?: string[]): ConfigError {
  try {
    validate(plain, secretKeys);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`config was accepted: ${JSON.stringify(plain).slice(0, 200)}`);
}
