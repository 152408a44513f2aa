import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import { createFetchTemplateAction } from '@backstage/plugin-scaffolder-backend';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import yaml from 'yaml';
import { createPlatformNameValidateAction } from '../../actions/platformNameValidate';
import { createPlatformSettingsReadAction } from '../../actions/platformSettingsRead';
import { PlatformSettings } from '../../render/types';
import { templateFile } from './paths';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';

type FetchTemplateOptions = Parameters<typeof createFetchTemplateAction>[0];
type Integrations = FetchTemplateOptions['integrations'];

/**
 * `ScmIntegrations.fromConfig(new ConfigReader({}))`, loaded from the
 * @backstage/integration that @backstage/plugin-scaffolder-backend itself
 * uses (this plugin does not declare that package).
 */
function emptyIntegrations(): Integrations {
  const backend = require.resolve('@backstage/plugin-scaffolder-backend');
  const integrationPath = require.resolve('@backstage/integration', {
    paths: [backend],
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ScmIntegrations } = require(integrationPath);
  return ScmIntegrations.fromConfig(new ConfigReader({}));
}

/** The real `fetch:template` action, built as the scaffolder backend builds it. */
export const fetchTemplate = createFetchTemplateAction({
  reader: mockServices.urlReader.mock(),
  integrations: emptyIntegrations(),
});

/** Platform settings shaped like a real `goldenPath` config section. */
export const testSettings: PlatformSettings = exampleSettings;

/** The golden-path actions the template's first steps run, by step id. */
export function templateStepActions(settings: PlatformSettings = testSettings) {
  return {
    'validate-name': createPlatformNameValidateAction({ settings }),
    platform: createPlatformSettingsReadAction({ settings }),
  };
}

export type StepOutputs = Record<string, Record<string, string>>;

/**
 * Runs the real actions behind the template's `validate-name` and `platform`
 * steps for `name` and returns their outputs by step id, as the scaffolder
 * would hold them in `steps[id].output`.
 */
export async function stepOutputs(
  name: string,
  settings: PlatformSettings = testSettings,
): Promise<StepOutputs> {
  const result: StepOutputs = {};
  for (const [stepId, action] of Object.entries(
    templateStepActions(settings),
  )) {
    const outputs: Record<string, string> = {};
    const ctx = createMockActionContext({ input: { name } });
    ctx.output = ((key: string, value: string) => {
      outputs[key] = value;
    }) as typeof ctx.output;
    await action.handler(ctx as any);
    result[stepId] = outputs;
  }
  return result;
}

export type FormParameters = {
  name: string;
  owner: string;
  description: string;
  port: number;
  replicas?: number;
};

/** The parsed template.yaml. */
export function loadTemplate(): any {
  return yaml.parse(fs.readFileSync(templateFile, 'utf8'));
}

/**
 * The `values` input of the template's fetch:template step, resolved the way
 * the scaffolder would: every entry must be `${{ parameters.X }}` or
 * `${{ steps['<id>'].output.X }}`, and must resolve to a value.
 */
export function fetchStepValues(
  parameters: FormParameters,
  steps: StepOutputs,
): Record<string, string | number> {
  const step = loadTemplate().spec.steps.find(
    (s: any) => s.action === 'fetch:template',
  );
  const values: Record<string, string | number> = {};
  for (const [key, expression] of Object.entries<string>(step.input.values)) {
    const param = /^\$\{\{ parameters\.(\w+) \}\}$/.exec(expression);
    const output = /^\$\{\{ steps\['([\w-]+)'\]\.output\.(\w+) \}\}$/.exec(
      expression,
    );
    let value: string | number | undefined;
    if (param)
      value = (parameters as Record<string, string | number | undefined>)[
        param[1]
      ];
    else if (output) value = steps[output[1]]?.[output[2]];
    else
      throw new Error(
        `fetch:template value ${key} has an unexpected expression: ${expression}`,
      );
    if (value === undefined)
      throw new Error(
        `fetch:template value ${key} (${expression}) resolves to nothing`,
      );
    values[key] = value;
  }
  return values;
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Renders a template's `./skeleton` with the real fetch:template action, as
 * the scaffolder does for a template at `templateYamlPath`, into
 * `workspacePath`.
 */
export async function renderSkeleton(options: {
  values: Record<string, string | number>;
  workspacePath: string;
  templateYamlPath?: string;
}): Promise<void> {
  const { values, workspacePath, templateYamlPath = templateFile } = options;
  const ctx = createMockActionContext({
    input: { url: './skeleton', values },
    templateInfo: {
      baseUrl: `file://${templateYamlPath}`,
      entityRef: 'template:default/nodejs-service',
    },
    workspacePath,
  });
  // The mock hands out the workspace itself as the temporary directory; the
  // scaffolder uses a separate one, so the fetched skeleton does not end up
  // in the result.
  const scratch: string[] = [];
  ctx.createTemporaryDirectory = async () => {
    const dir = makeTempDir('gp-fetch-');
    scratch.push(dir);
    return dir;
  };
  try {
    await fetchTemplate.handler(ctx as any);
  } finally {
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  }
}
