import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  LIFECYCLE_ACTION_ANNOTATION,
  SERVICE_NAME_PATTERN,
} from '@internal/plugin-golden-path-common';
import yaml from 'yaml';
import { createPlatformNameValidateAction } from '../actions/platformNameValidate';
import { createPlatformServiceDecommissionAction } from '../actions/platformServiceDecommission';
import { ServiceDecommissions } from '../lifecycle/decommission';
import { repoRoot } from './__testUtils__/paths';
import { testSettings } from './__testUtils__/render';

const file = path.join(
  repoRoot,
  'templates',
  'decommission-service',
  'template.yaml',
);
const template = yaml.parse(fs.readFileSync(file, 'utf8'));
const properties: Record<string, any> = Object.assign(
  {},
  ...template.spec.parameters.map((p: any) => p.properties),
);

/** The actions behind the template's steps, as module.ts registers them. */
const actions = new Map<string, any>(
  [
    createPlatformNameValidateAction({ settings: testSettings }),
    createPlatformServiceDecommissionAction({
      decommissions: {} as ServiceDecommissions,
    }),
  ].map(a => [a.id, a]),
);

/** `${{ parameters.x }}` and `${{ steps['id'].output.x }}` in a value. */
function references(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/\$\{\{\s*([^}]+?)\s*\}\}/g)].map(
    m => m[1],
  );
}

describe('templates/decommission-service/template.yaml', () => {
  it('is a valid scaffolder.backstage.io/v1beta3 Template with output links', async () => {
    await expect(templateEntityV1beta3Validator.check(template)).resolves.toBe(
      true,
    );
    expect(template.metadata.title).toBe('Decommission a service');
    expect(template.spec.output.links.length).toBeGreaterThan(0);
  });

  it('declares itself as the decommission template, so the entity page finds it without knowing its name', () => {
    expect(template.metadata.annotations?.[LIFECYCLE_ACTION_ANNOTATION]).toBe(
      'decommission',
    );
  });

  it('asks for the name (with the name rule) and the name again', () => {
    expect(template.spec.parameters[0].required).toEqual([
      'name',
      'confirmName',
    ]);
    expect(properties.name.pattern).toBe(SERVICE_NAME_PATTERN);
    const ajv = new Ajv({ strict: false });
    ajv.addKeyword({ keyword: 'errorMessage' });
    const valid = ajv.compile({
      type: 'object',
      properties: { name: properties.name },
    });
    expect(valid({ name: 'payments-api' })).toBe(true);
    expect(valid({ name: 'Payments_API' })).toBe(false);
  });

  it('passes every step only inputs its action declares, from parameters and earlier steps that exist', () => {
    const seen = new Set<string>();
    for (const step of template.spec.steps) {
      const action = actions.get(step.action);
      expect({ step: step.id, registered: !!action }).toEqual({
        step: step.id,
        registered: true,
      });
      const declared = Object.keys(
        action.schema.input.properties ?? action.schema.input.shape ?? {},
      );
      expect(
        Object.keys(step.input).filter(k => !declared.includes(k)),
      ).toEqual([]);
      const unresolved = references(step.input).filter(ref => {
        const param = /^parameters\.(\w+)$/.exec(ref);
        const output = /^steps\['([\w-]+)'\]\.output\.(\w+)$/.exec(ref);
        if (param) return !(param[1] in properties);
        if (output) return !seen.has(output[1]);
        return true;
      });
      expect({ step: step.id, unresolved }).toEqual({
        step: step.id,
        unresolved: [],
      });
      seen.add(step.id);
    }
    expect(template.spec.steps.map((s: any) => s.action)).toContain(
      'idp:platform:service:decommission',
    );
  });

  it('links to the repository URLs the name step outputs, and shows the report', async () => {
    const outputs: Record<string, unknown> = {};
    const ctx = createMockActionContext({ input: { name: 'payments-api' } });
    ctx.output = ((k: string, v: unknown) => {
      outputs[k] = v;
    }) as typeof ctx.output;
    await actions.get('idp:platform:name:validate').handler(ctx);
    for (const link of template.spec.output.links) {
      for (const ref of references(link.url)) {
        const key = /^steps\['names'\]\.output\.(\w+)$/.exec(ref)?.[1];
        expect(key && outputs[key]).toEqual(
          expect.stringMatching(/^https:\/\//),
        );
      }
    }
    expect(references(template.spec.output.text[0].content)).toEqual([
      "steps['decommission'].output.report",
    ]);
  });
});
