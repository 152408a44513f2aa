import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import {
  SERVICE_NAME_MAX_LENGTH,
  SERVICE_NAME_MIN_LENGTH,
  SERVICE_NAME_PATTERN,
  serviceNameProblem,
} from '@internal/plugin-golden-path-common';
import { validName } from '../__testUtils__/arbitraries';
import { skeletonDir } from './__testUtils__/paths';
import {
  fetchStepValues,
  loadTemplate,
  stepOutputs,
  templateStepActions,
} from './__testUtils__/render';

const template = loadTemplate();
const pages: any[] = template.spec.parameters;
const properties: Record<string, any> = Object.assign(
  {},
  ...pages.map(p => p.properties),
);

/**
 * The JSON schema the scaffolder form validates a field with: the frontend
 * moves every `ui:*` key into the uiSchema before validating.
 */
function formSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema).filter(([key]) => !key.startsWith('ui:')),
  );
}

/**
 * ajv as the scaffolder form uses it: ajv 8 with formats, `errorMessage`
 * known (the form adds ajv-errors, which only rewrites messages).
 */
function formAjv() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'errorMessage' });
  return ajv;
}

describe('templates/nodejs-service/template.yaml', () => {
  it('is a valid scaffolder.backstage.io/v1beta3 Template', async () => {
    await expect(templateEntityV1beta3Validator.check(template)).resolves.toBe(
      true,
    );
    expect(template.metadata).toMatchObject({
      name: 'nodejs-service',
      title: 'Node.js service (golden path)',
    });
    expect(template.metadata.tags.length).toBeGreaterThan(0);
    expect(template.spec).toMatchObject({
      owner: 'group:default/platform-team',
      type: 'service',
    });
  });

  it('uses exactly the one service-name rule for the name field', () => {
    const name = properties.name;
    expect(name.type).toBe('string');
    expect(name.pattern).toBe(SERVICE_NAME_PATTERN);
    expect(name.minLength).toBe(SERVICE_NAME_MIN_LENGTH);
    expect(name.maxLength).toBe(SERVICE_NAME_MAX_LENGTH);
    expect(name['ui:autofocus']).toBe(true);
    expect(name['ui:help']).toContain(
      `${SERVICE_NAME_MIN_LENGTH} to ${SERVICE_NAME_MAX_LENGTH} characters`,
    );
    expect(Object.keys(name.errorMessage).sort()).toEqual([
      'maxLength',
      'minLength',
      'pattern',
    ]);
  });

  it('explains every field to the developer', () => {
    expect(Object.keys(properties).sort()).toEqual([
      'database',
      'description',
      'name',
      'owner',
      'port',
      'replicas',
    ]);
    for (const [key, field] of Object.entries(properties)) {
      expect([key, typeof field.title, typeof field.description]).toEqual([
        key,
        'string',
        'string',
      ]);
      expect(field.description.length).toBeGreaterThan(40);
      expect(typeof field['ui:help']).toBe('string');
    }
    expect(pages.flatMap(p => p.required ?? []).sort()).toEqual([
      'description',
      'name',
      'owner',
    ]);
    expect(properties.owner).toMatchObject({
      'ui:field': 'OwnerPicker',
      'ui:options': { catalogFilter: { kind: ['Group', 'User'] } },
    });
    expect(properties.description).toMatchObject({
      type: 'string',
      maxLength: 300,
    });
    expect(properties.port).toMatchObject({
      type: 'integer',
      default: 3000,
      minimum: 1024,
      maximum: 65535,
    });
    expect(properties.replicas).toMatchObject({
      type: 'integer',
      default: 2,
      minimum: 1,
      maximum: 10,
    });
    expect(properties.database).toMatchObject({
      title: 'Needs a PostgreSQL database',
      type: 'boolean',
      default: false,
    });
  });

  it('accepts its own defaults and rejects out-of-range numbers', () => {
    const ajv = formAjv();
    for (const key of ['port', 'replicas']) {
      const validate = ajv.compile(formSchema(properties[key]));
      const { default: fallback, minimum, maximum } = properties[key];
      expect([
        key,
        validate(fallback),
        validate(minimum),
        validate(maximum),
      ]).toEqual([key, true, true, true]);
      expect([
        key,
        validate(minimum - 1),
        validate(maximum + 1),
        validate(minimum + 0.5),
      ]).toEqual([key, false, false, false]);
    }
  });

  it('form check and serviceNameProblem agree on every name (property)', () => {
    const validate = formAjv().compile(formSchema(properties.name));
    const nameLike = validName;
    const alphabet = fc.constantFrom(...'abcxyz09-_A.Z é\n'.split(''));
    const candidates = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.string({ unit: alphabet, maxLength: 45 }),
      // Weighted so that valid names are a good share of the runs (the
      // counts are asserted below; unweighted they hovered near the bar).
      { arbitrary: nameLike, weight: 4 },
      // valid names with one character changed, added or removed
      fc
        .tuple(
          nameLike,
          fc.nat(),
          fc.string({ unit: alphabet, maxLength: 2 }),
          fc.nat(2),
        )
        .map(
          ([n, at, insert, drop]) =>
            n.slice(0, at % (n.length + 1)) +
            insert +
            n.slice((at % (n.length + 1)) + drop),
        ),
    );
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.oneof(candidates, fc.anything()), candidate => {
        const formAccepts = validate(candidate);
        const ruleAccepts = serviceNameProblem(candidate) === undefined;
        expect({ candidate, formAccepts }).toEqual({
          candidate,
          formAccepts: ruleAccepts,
        });
        seen[ruleAccepts ? 'accepted' : 'rejected'] += 1;
      }),
      { numRuns: 1000 },
    );
    // Both outcomes are well represented, so agreement is not trivial.
    expect(seen.accepted).toBeGreaterThan(150);
    expect(seen.rejected).toBeGreaterThan(150);
  });

  describe('steps', () => {
    const steps: any[] = template.spec.steps;
    const fetchStep = steps.find(s => s.id === 'fetch');

    it('checks the name before rendering, then provisions as one saga, then registers', () => {
      const actions = templateStepActions();
      expect(steps.map(s => [s.id, s.action])).toEqual([
        ['validate-name', actions['validate-name'].id],
        ['platform', actions.platform.id],
        ['name-free', 'idp:platform:name:check'],
        ['fetch', 'fetch:template'],
        ['provision', 'idp:platform:service:provision'],
        ['register', 'idp:catalog:entity:register'],
      ]);
      expect(steps[0].input).toEqual({ name: '${{ parameters.name }}' });
      expect(fetchStep.input).toMatchObject({
        url: './skeleton',
        targetPath: './app',
      });
      expect(steps.find(s => s.id === 'provision').input.sourcePath).toBe(
        'app',
      );
    });

    it('takes every fetch:template value from the form or from an output the actions really produce', async () => {
      const parameters = {
        name: 'orders',
        owner: 'group:default/team-a',
        description: 'Orders',
        port: 3000,
      };
      const values = fetchStepValues(
        parameters,
        await stepOutputs(parameters.name),
      );
      expect(values).toMatchObject({
        ...parameters,
        appRepoUrl: 'https://gitlab.example.com/apps/orders',
      });
    });

    it('passes every value the skeleton uses', () => {
      const provided = Object.keys(fetchStep.input.values);
      const used = new Set<string>();
      const files = fs.readdirSync(skeletonDir, {
        recursive: true,
        encoding: 'utf8',
      });
      for (const file of files) {
        const full = path.join(skeletonDir, file);
        if (!fs.statSync(full).isFile()) continue;
        for (const [, expression] of fs
          .readFileSync(full, 'utf8')
          .matchAll(/\$\{\{(.*?)\}\}/g)) {
          for (const m of expression.matchAll(/\bvalues\.(\w+)/g))
            used.add(m[1]);
        }
      }
      expect([...used].filter(v => !provided.includes(v))).toEqual([]);
      expect(used.size).toBeGreaterThan(10);
    });

    it('links to the repository, pipelines, ArgoCD, the live service and the catalog entity', () => {
      const links: any[] = template.spec.output.links;
      expect(links.map(l => l.url ?? l.entityRef)).toEqual([
        "${{ steps['validate-name'].output.appRepoUrl }}",
        "${{ steps['validate-name'].output.pipelinesUrl }}",
        "${{ steps['validate-name'].output.argocdAppUrl }}",
        "${{ steps['validate-name'].output.liveUrl }}",
        "${{ steps['register'].output.entityRef }}",
      ]);
      expect(template.spec.output.text[0].content).toContain(
        '${{ parameters.name }}',
      );
    });
  });
});
