import { ConfigError, loadConfig } from '../../src/config/config.js';

/**
 * The problems loadConfig reports for an environment, none when it takes it; with `server`, those
 * the API's entry point (npm start) would report.
 */
export function configProblems(
  env: Record<string, string>,
  options: { readonly server?: boolean } = {},
): string[] {
  try {
    loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
