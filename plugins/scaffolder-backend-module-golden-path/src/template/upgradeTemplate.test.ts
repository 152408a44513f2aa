import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import { SERVICE_NAME_PATTERN } from '@internal/plugin-golden-path-common';
import yaml from 'yaml';
import { createPlatformServiceUpgradeAction } from '../actions/platformServiceUpgrade';
import { repoRoot } from './__testUtils__/paths';

const file = path.join(repoRoot, 'templates', 'upgrade-services', 'template.yaml');
const template = yaml.parse(fs.readFileSync(file, 'utf8'));
const page = template.spec.parameters[0];
const [one, all] = page.dependencies.scope.oneOf;

const action = createPlatformServiceUpgradeAction({
  upgrader: { upgradeAll: async () => [] },
  services: { list: async () => [], get: async () => undefined },
  access: async () => {},
});

/** `${{ … }}` expressions in a value. */
function expressions(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/\$\{\{\s*([^}]+?)\s*\}\}/g)].map(m => m[1]);
}

describe('templates/upgrade-services/template.yaml', () => {
  it('is a valid scaffolder.backstage.io/v1beta3 Template with output links', async () => {
    await expect(templateEntityV1beta3Validator.check(template)).resolves.toBe(true);
    expect(template.metadata.title).toBe('Upgrade services to the current golden path');
    expect(template.spec.output.links.length).toBeGreaterThan(0);
  });

  it('asks for one service (by the name rule) or all, and whether to only show the difference', () => {
    expect(page.properties.scope.enum).toEqual(['one', 'all']);
    expect(page.properties.dryRun).toMatchObject({ type: 'boolean', default: false });
    expect(one.properties.name.pattern).toBe(SERVICE_NAME_PATTERN);
    expect(one.required).toEqual(['name']);
    expect(all.properties.name).toBeUndefined();
    const ajv = new Ajv({ strict: false });
    ajv.addKeyword({ keyword: 'errorMessage' });
    const valid = ajv.compile({ type: 'object', ...page, dependencies: page.dependencies });
    expect(valid({ scope: 'one', name: 'payments-api' })).toBe(true);
    expect(valid({ scope: 'one' })).toBe(false);
    expect(valid({ scope: 'one', name: 'Payments_API' })).toBe(false);
    expect(valid({ scope: 'all' })).toBe(true);
  });

  it('runs only the upgrade action, with inputs it declares, from parameters that exist', () => {
    expect(template.spec.steps.map((s: any) => s.action)).toEqual(['idp:platform:service:upgrade']);
    const [step] = template.spec.steps;
    const declared = Object.keys((action.schema?.input as any).properties ?? (action.schema?.input as any).shape);
    expect(Object.keys(step.input).filter(k => !declared.includes(k))).toEqual([]);
    const params = new Set([...Object.keys(page.properties), 'name']);
    for (const expr of expressions(step.input)) {
      for (const [, name] of expr.matchAll(/parameters\.(\w+)/g)) {
        expect(params).toContain(name);
      }
    }
  });

  it("shows the action's report", () => {
    expect(expressions(template.spec.output.text[0].content)).toEqual([
      "steps['upgrade'].output.report",
    ]);
  });
});
