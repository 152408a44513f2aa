import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { repoRoot } from './__testUtils__/paths';

/**
 * The form's database option, for every golden path in templates/ (issue
 * 12): the same field, the same wording, passed to the provisioning step.
 */
const load = (dir: string) =>
  yaml.parse(fs.readFileSync(path.join(dir, 'template.yaml'), 'utf8'));

/** Every golden path: a template in templates/ that creates a service. */
const templateDirs = fs
  .readdirSync(path.join(repoRoot, 'templates'), { withFileTypes: true })
  .map(d => path.join(repoRoot, 'templates', d.name))
  .filter(dir => fs.existsSync(path.join(dir, 'template.yaml')))
  .filter(dir =>
    load(dir).spec.steps.some((s: any) => s.action === 'idp:platform:service:provision'),
  );
const formField = (template: any, key: string) =>
  template.spec.parameters.map((p: any) => p.properties?.[key]).find(Boolean);
const step = (template: any, id: string) =>
  template.spec.steps.find((s: any) => s.id === id);

describe('the database option', () => {
  it('is in at least two templates', () => {
    expect(templateDirs.map(d => path.basename(d))).toEqual(
      expect.arrayContaining(['nodejs-service', 'python-service']),
    );
  });

  it.each(templateDirs.map(d => [path.basename(d), d]))(
    '%s: asks "Needs a PostgreSQL database" as a boolean, default false, and passes it to the provisioning step',
    (_name, dir) => {
      const template = load(dir);
      expect(formField(template, 'database')).toMatchObject({
        title: 'Needs a PostgreSQL database',
        type: 'boolean',
        default: false,
      });
      expect(step(template, 'provision')).toMatchObject({
        action: 'idp:platform:service:provision',
        input: { database: '${{ parameters.database }}' },
      });
    },
  );

  it('has the same field, word for word, in every template', () => {
    const [first, ...rest] = templateDirs.map(d => formField(load(d), 'database'));
    for (const field of rest) expect(field).toEqual(first);
  });
});
