import fs from 'node:fs';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { ConfigSources } from '@backstage/config-loader';
import { formatProblems } from './problems';
import { modeOf, validate } from './validate';

/** Thrown when the configuration is unusable; its message lists every problem. */
export class ConfigValidationError extends Error {
  name = 'ConfigValidationError';
}

function checkReadable(path: string): string | undefined {
  try {
    fs.accessSync(path, fs.constants.R_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/**
 * Replaces the backend's root config service with one that loads config the
 * same way (ConfigSources.default: --config arguments, APP_CONFIG_* env,
 * watching in development) and then validates it. Validation therefore runs
 * before any plugin or core service reads a key, so a misconfigured backend
 * fails with one error listing every problem instead of the first plugin's
 * "Missing required config value".
 */
export const configValidatorServiceFactory = createServiceFactory({
  service: coreServices.rootConfig,
  deps: {},
  async factory() {
    const source = ConfigSources.default({});
    const config = await ConfigSources.toConfig(source);
    const mode = modeOf(config, process.env);
    const problems = validate(config, { mode, env: process.env, checkReadable });
    if (problems.length > 0) {
      throw new ConfigValidationError(formatProblems(problems));
    }
    // eslint-disable-next-line no-console
    console.log(`Configuration valid for ${mode} use (${source})`);
    return config;
  },
});
