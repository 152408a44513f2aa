import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { repoRoot } from './__testUtils__/paths';
import { makeTempDir, renderSkeleton, stepOutputs, testSettings } from './__testUtils__/render';

/**
 * Every golden path's catalog-info.yaml links the service's Grafana
 * dashboard when the platform knows Grafana, and only then (issue 12).
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
const step = (template: any, id: string) =>
  template.spec.steps.find((s: any) => s.id === id);

describe('the Grafana dashboard link in catalog-info.yaml', () => {
  const render = async (dir: string, grafanaUrl: string) => {
    const out = makeTempDir('gp-grafana-');
    try {
      const template = load(dir);
      const steps = await stepOutputs('orders', {
        ...testSettings,
        grafanaBaseUrl: grafanaUrl || undefined,
      });
      const values: Record<string, string | number> = {};
      for (const [key, expression] of Object.entries<string>(step(template, 'fetch').input.values)) {
        const param = /^\$\{\{ parameters\.(\w+) \}\}$/.exec(expression);
        const output = /^\$\{\{ steps\['([\w-]+)'\]\.output\.(\w+) \}\}$/.exec(expression);
        const parameters: Record<string, string | number> = {
          name: 'orders',
          owner: 'group:default/team-a',
          description: 'Orders',
          port: 8080,
        };
        const value = param ? parameters[param[1]] : output && steps[output[1]]?.[output[2]];
        if (value === undefined || value === null) throw new Error(`${key} resolves to nothing`);
        values[key] = value;
      }
      await renderSkeleton({
        values,
        workspacePath: out,
        templateYamlPath: path.join(dir, 'template.yaml'),
      });
      return yaml.parse(fs.readFileSync(path.join(out, 'catalog-info.yaml'), 'utf8'));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };

  it.each(templateDirs.map(d => [path.basename(d), d]))(
    '%s: links <grafanaUrl>/d/<name> (the dashboard uid is the service name)',
    async (_name, dir) => {
      const entity = await render(dir, 'https://grafana.example.com');
      expect(entity.metadata.links).toContainEqual({
        url: 'https://grafana.example.com/d/orders',
        title: 'Grafana dashboard',
        type: 'dashboard',
        icon: 'dashboard',
      });
    },
  );

  it.each(templateDirs.map(d => [path.basename(d), d]))(
    '%s: has no dashboard link when the platform has no Grafana',
    async (_name, dir) => {
      const entity = await render(dir, '');
      expect(entity.metadata.links.map((l: any) => l.title)).not.toContain('Grafana dashboard');
      expect(entity.metadata.links).toHaveLength(5);
    },
  );
});
