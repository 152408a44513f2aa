import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'yaml';
import {
  componentEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
  Entity,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import { conformancePath, repoRoot } from './__testUtils__/paths';
import {
  makeTempDir,
  renderSkeleton,
  StepOutputs,
  stepOutputs,
  testSettings,
} from './__testUtils__/render';

/**
 * Static checks of templates/python-service: its template.yaml against the
 * Node.js one, and its rendered skeleton (CI schema, catalog entity,
 * Dockerfile, lock files). generatedApp.test.ts runs the generated app.
 */

const templatesDir = path.join(repoRoot, 'templates');
const pythonDir = path.join(templatesDir, 'python-service');
const nodeDir = path.join(templatesDir, 'nodejs-service');
const pythonSkeleton = path.join(pythonDir, 'skeleton');

const readYaml = (file: string) => yaml.parse(fs.readFileSync(file, 'utf8'));
const python = readYaml(path.join(pythonDir, 'template.yaml'));
const node = readYaml(path.join(nodeDir, 'template.yaml'));

/** Files below `dir`, relative, sorted. */
function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(f => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

/** Parses YAML the way the catalog does and insists on one clean document. */
function parseSingleDocument(text: string): any {
  const docs = yaml.parseAllDocuments(text);
  expect(docs).toHaveLength(1);
  const [doc] = docs as yaml.Document.Parsed[];
  expect(doc.errors.map(e => e.message)).toEqual([]);
  expect(doc.warnings.map(e => e.message)).toEqual([]);
  return doc.toJSON();
}

const properties = (template: any): Record<string, any> =>
  Object.assign({}, ...template.spec.parameters.map((p: any) => p.properties));
const stepById = (template: any, id: string) =>
  template.spec.steps.find((s: any) => s.id === id);

describe('templates/python-service/template.yaml', () => {
  it('is a valid Template named python-service', async () => {
    await expect(templateEntityV1beta3Validator.check(python)).resolves.toBe(
      true,
    );
    expect(python.metadata).toMatchObject({
      name: 'python-service',
      title: 'Python service (FastAPI, golden path)',
    });
    expect(python.metadata.tags).toEqual(
      expect.arrayContaining(['golden-path', 'python', 'fastapi']),
    );
    expect(python.spec).toMatchObject({
      owner: node.spec.owner,
      type: node.spec.type,
    });
  });

  // template.test.ts checks the Node.js form (e.g. the name rule against
  // SERVICE_NAME_PATTERN); the Python form must stay identical to it.
  it('asks exactly what the Node.js template asks, with port 8000 by default', () => {
    const expected = structuredClone(node.spec.parameters);
    for (const page of expected)
      if (page.properties.port) page.properties.port.default = 8000;
    expect(python.spec.parameters).toEqual(expected);
    expect(properties(python).port.default).toBe(8000);
  });

  it('runs the same steps as the Node.js template; only the runtime block differs', () => {
    const strip = (template: any) =>
      template.spec.steps.map((step: any) => {
        const copy = structuredClone(step);
        delete copy.input?.runtime;
        return copy;
      });
    expect(strip(python)).toEqual(strip(node));
    expect(python.spec.output.links).toEqual(node.spec.output.links);
  });

  it.each([
    ['nodejs-service', node, 'nodejs', { NODE_ENV: 'production' }],
    ['python-service', python, 'python', { PYTHONUNBUFFERED: '1' }],
  ])(
    '%s gives the provision step a complete runtime block',
    (_id, template, name, env) => {
      const runtime = stepById(template, 'provision').input.runtime;
      expect(runtime).toEqual({
        name,
        healthPath: '/health',
        metricsPath: '/metrics',
        env,
        resources: {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { cpu: '500m', memory: '256Mi' },
        },
        probes: {
          readiness: { initialDelaySeconds: 5, periodSeconds: 10 },
          liveness: { initialDelaySeconds: 15, periodSeconds: 20 },
        },
      });
      expect(runtime.name).toMatch(/^[a-z0-9-]+$/);
      for (const value of Object.values(runtime.env))
        expect(typeof value).toBe('string');
    },
  );

  it('passes every value the skeleton uses', () => {
    const provided = Object.keys(stepById(python, 'fetch').input.values);
    const used = new Set<string>();
    for (const file of listFiles(pythonSkeleton)) {
      const text = fs.readFileSync(path.join(pythonSkeleton, file), 'utf8');
      for (const [, expression] of text.matchAll(/\$\{\{(.*?)\}\}/g))
        for (const m of expression.matchAll(/\bvalues\.(\w+)/g)) used.add(m[1]);
    }
    expect([...used].filter(v => !provided.includes(v))).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });
});

describe('templates/python-service/skeleton rendered by fetch:template', () => {
  const parameters = {
    name: 'payments-api',
    owner: 'group:default/team-payments',
    description: 'Takes payments: cards, "wallets" & refunds # v1',
    port: 8080,
  };
  let out: string;
  let steps: StepOutputs;
  const read = (file: string) => fs.readFileSync(path.join(out, file), 'utf8');

  beforeAll(async () => {
    out = makeTempDir('gp-python-skeleton-');
    steps = await stepOutputs(parameters.name);
    const values: Record<string, string | number> = {};
    for (const [key, expression] of Object.entries<string>(
      stepById(python, 'fetch').input.values,
    )) {
      const param = /^\$\{\{ parameters\.(\w+) \}\}$/.exec(expression);
      const output = /^\$\{\{ steps\['([\w-]+)'\]\.output\.(\w+) \}\}$/.exec(
        expression,
      );
      const value = param
        ? (parameters as Record<string, string | number>)[param[1]]
        : output && steps[output[1]]?.[output[2]];
      if (value === undefined || value === null)
        throw new Error(`fetch:template value ${key} resolves to nothing`);
      values[key] = value;
    }
    await renderSkeleton({
      values,
      workspacePath: out,
      templateYamlPath: path.join(pythonDir, 'template.yaml'),
    });
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('renders every file and leaves no template syntax behind', () => {
    expect(listFiles(out)).toEqual(listFiles(pythonSkeleton));
    expect(listFiles(out)).toEqual(
      expect.arrayContaining([
        '.dockerignore',
        '.flake8',
        '.gitignore',
        '.gitlab-ci.yml',
        'Dockerfile',
        'README.md',
        'catalog-info.yaml',
        'requirements.txt',
        'requirements-dev.txt',
        'app/server.py',
        'app/routes.py',
      ]),
    );
    for (const file of listFiles(out)) {
      expect([file, read(file)]).not.toEqual([
        file,
        expect.stringMatching(/\$\{\{|\{%|\{#/),
      ]);
    }
    expect(read('app/__init__.py')).toContain(
      `SERVICE_NAME = "${parameters.name}"`,
    );
  });

  it('uses the chosen port in the server and the Dockerfile', () => {
    expect(read('app/server.py')).toContain(
      `DEFAULT_PORT = int("${parameters.port}")`,
    );
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${parameters.port}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`PORT=${parameters.port}$`, 'm'));
  });

  it('has a multi-stage Dockerfile that runs as uid/gid 10001, without dev dependencies, with a health check', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM .*/gm)).toEqual([
      'FROM python:3.11-slim AS deps',
      'FROM python:3.11-slim',
    ]);
    const [deps, runtime] = dockerfile.split(/^FROM python:3\.11-slim$/m);
    expect(deps).toMatch(
      /pip install --no-deps --requirement requirements\.txt[^]*pip check/,
    );
    expect(runtime).toMatch(/^COPY --from=deps \/opt\/venv \/opt\/venv$/m);
    expect(runtime).toMatch(/useradd [^\n]*--uid 10001 --gid app/);
    expect(runtime).toMatch(/groupadd [^\n]*--gid 10001 app/);
    const users = runtime.match(/^USER .*/gm);
    expect(users).toEqual(['USER 10001:10001']);
    // Nothing after USER writes to the image: the root file system is read-only.
    const afterUser = runtime.slice(runtime.indexOf('USER 10001:10001'));
    expect(afterUser).not.toMatch(/^RUN /m);
    expect(runtime).toMatch(/PYTHONDONTWRITEBYTECODE=1/);
    expect(dockerfile).not.toMatch(/requirements-dev/);
    expect(dockerfile).toMatch(
      /^HEALTHCHECK .*\\\n\s+CMD \["python", "-c", ".*\/health/m,
    );
    expect(dockerfile).toMatch(/^CMD \["python", "-m", "app\.server"\]$/m);
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(
      expect.arrayContaining([
        'tests',
        'requirements-dev.txt',
        '.venv',
        'image.tar',
        '.env',
      ]),
    );
  });

  it('has a catalog-info.yaml that the catalog accepts as a Component', async () => {
    const doc = parseSingleDocument(read('catalog-info.yaml'));
    const policy = EntityPolicies.allOf([
      new DefaultNamespaceEntityPolicy(),
      new NoForeignRootFieldsEntityPolicy(),
      new FieldFormatEntityPolicy(),
      new SchemaValidEntityPolicy(),
    ]);
    const entity = (await policy.enforce(doc as Entity)) as Entity;
    await expect(componentEntityV1alpha1Validator.check(entity)).resolves.toBe(
      true,
    );
    const names = steps['validate-name'];
    expect(entity).toMatchObject({
      metadata: {
        name: parameters.name,
        description: parameters.description,
        annotations: {
          'gitlab.com/project-slug': names.appRepoPath,
          'argocd/app-name': parameters.name,
          'backstage.io/kubernetes-id': parameters.name,
          'backstage.io/kubernetes-namespace': parameters.name,
          'backstage.io/source-location': `url:${names.appRepoUrl}/-/tree/main/`,
        },
        tags: ['python', 'fastapi'],
      },
      spec: { type: 'service', owner: parameters.owner },
    });
    expect(entity.metadata.links?.map(l => l.url)).toEqual([
      names.appRepoUrl,
      names.gitopsRepoUrl,
      names.pipelinesUrl,
      names.argocdAppUrl,
      names.liveUrl,
    ]);
    // Same annotations and links as the Node.js skeleton, apart from tags.
    const nodeCatalog = fs.readFileSync(
      path.join(nodeDir, 'skeleton', 'catalog-info.yaml'),
      'utf8',
    );
    const pythonCatalog = fs.readFileSync(
      path.join(pythonSkeleton, 'catalog-info.yaml'),
      'utf8',
    );
    const withoutTags = (text: string) =>
      text.replace(/^ {2}tags:\n(?: {4}- .*\n)+/m, '');
    expect(withoutTags(pythonCatalog)).toBe(withoutTags(nodeCatalog));
  });

  describe('lock files', () => {
    const pins = (file: string) =>
      read(file)
        .split('\n')
        .map(line => line.replace(/#.*/, '').trim())
        .filter(Boolean);
    const normalise = (name: string) =>
      name.toLowerCase().replace(/[-_.]+/g, '-');

    it('pin every package to one exact version, each once, with no index or URL', () => {
      const all = [
        ...pins('requirements.txt'),
        ...pins('requirements-dev.txt'),
      ];
      for (const line of all)
        expect(line).toMatch(
          /^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.]*$/,
        );
      const names = all.map(line => normalise(line.split('==')[0]));
      expect(names.length).toBeGreaterThan(20);
      expect(new Set(names).size).toBe(names.length);
      for (const file of [
        'requirements.txt',
        'requirements-dev.txt',
        'requirements.in',
        'requirements-dev.in',
      ]) {
        expect([file, read(file)]).not.toEqual([
          file,
          expect.stringMatching(
            /https?:|--index-url|--extra-index-url|--find-links/,
          ),
        ]);
      }
    });

    it('lock what requirements*.in ask for, and every "via" names a locked package', () => {
      const locked = new Map(
        [...pins('requirements.txt'), ...pins('requirements-dev.txt')].map(
          line => {
            const [name, version] = line.split('==');
            return [normalise(name), version] as const;
          },
        ),
      );
      for (const file of ['requirements.in', 'requirements-dev.in']) {
        for (const line of pins(file)) {
          if (line.startsWith('-c ')) continue;
          const m = /^([A-Za-z0-9._-]+)(?:\[[\w,]+\])?~=([0-9.]+)$/.exec(line);
          expect([file, line, m !== null]).toEqual([file, line, true]);
          const [, name, wanted] = m!;
          const version = locked.get(normalise(name));
          const prefix = wanted.split('.').slice(0, -1).join('.');
          expect([name, version?.startsWith(`${prefix}.`)]).toEqual([
            name,
            true,
          ]);
        }
      }
      expect(locked.has('psycopg-binary')).toBe(true);
      for (const file of ['requirements.txt', 'requirements-dev.txt']) {
        const vias = [
          ...read(file).matchAll(/^ {4}# (?:via | {2})\s*(\S+)$/gm),
        ].map(m => m[1]);
        for (const via of vias) {
          expect([file, via, locked.has(normalise(via))]).toEqual([
            file,
            via,
            true,
          ]);
        }
      }
      for (const direct of [
        'fastapi',
        'uvicorn',
        'prometheus-client',
        'psycopg',
      ])
        expect(locked.has(direct)).toBe(true);
    });
  });

  describe('.gitlab-ci.yml', () => {
    let ci: any;
    let nodeCi: any;
    beforeAll(() => {
      ci = parseSingleDocument(read('.gitlab-ci.yml'));
      nodeCi = yaml.parse(
        fs.readFileSync(
          path.join(nodeDir, 'skeleton', '.gitlab-ci.yml'),
          'utf8',
        ),
      );
    });
    const jobs = () =>
      Object.entries<any>(ci).filter(
        ([key, job]) => !key.startsWith('.') && job?.stage,
      );

    it('validates against the GitLab CI schema', () => {
      const schema = JSON.parse(
        fs.readFileSync(conformancePath('gitlab', 'ci.json'), 'utf8'),
      );
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      const validate = ajv.compile(schema);
      validate(ci);
      expect(validate.errors ?? []).toEqual([]);
    });

    it('runs the same six stages, rules and variables as the Node.js pipeline', () => {
      expect(ci.stages).toEqual(nodeCi.stages);
      expect(ci.stages).toEqual([
        'lint',
        'test',
        'security',
        'build',
        'push',
        'update-gitops',
      ]);
      expect(new Set(jobs().map(([, job]) => job.stage))).toEqual(
        new Set(ci.stages),
      );
      expect(ci.workflow).toEqual(nodeCi.workflow);
      expect(ci.variables).toMatchObject({
        SERVICE_NAME: parameters.name,
        ECR_REGISTRY: testSettings.ecrRegistry,
        IMAGE_REPOSITORY: `${testSettings.ecrRegistry}/${parameters.name}`,
        GITLAB_HOST: testSettings.gitlabHost,
        GITOPS_REPO_PATH: steps['validate-name'].gitopsRepoPath,
        PIP_CACHE_DIR: '$CI_PROJECT_DIR/.cache/pip',
      });
    });

    it('lints with flake8 and tests with pytest on python:3.11-slim, installing exactly the lock files, with a pip cache keyed on them', () => {
      const base = ci['.python'];
      expect(base.image).toBe('python:3.11-slim');
      expect(base.cache).toEqual({
        key: { files: ['requirements.txt', 'requirements-dev.txt'] },
        paths: ['.cache/pip/'],
      });
      expect(base.before_script).toEqual([
        'pip install --no-deps -r requirements.txt -r requirements-dev.txt',
        'pip check',
      ]);
      expect(ci.lint).toMatchObject({ extends: '.python', script: ['flake8'] });
      expect(ci.test).toMatchObject({ extends: '.python' });
      expect(ci.test.script).toEqual([expect.stringMatching(/^pytest\b/)]);
    });

    it('fails on known vulnerabilities (pip-audit) and on high or critical Trivy findings', () => {
      expect(ci['pip-audit'].script.join('\n')).toMatch(
        /^pip-audit .*-r requirements\.txt -r requirements-dev\.txt$/m,
      );
      expect(ci['pip-audit'].script[0]).toMatch(/^pip install pip-audit==\d/);
      expect(ci.trivy.needs).toEqual([]);
      expect(ci.trivy).toEqual(nodeCi.trivy);
    });

    it('starts every job as soon as what it needs exists, and pushes only after every check', () => {
      const byName = new Map(jobs());
      const needsOf = (job: any): string[] | undefined => {
        const needs =
          job.needs ?? (job.extends ? ci[job.extends]?.needs : undefined);
        return needs?.map((n: any) => (typeof n === 'string' ? n : n.job));
      };
      for (const [name, job] of jobs()) {
        const needs = needsOf(job);
        expect([name, Array.isArray(needs)]).toEqual([name, true]);
        for (const need of needs ?? [])
          expect([name, need, byName.has(need)]).toEqual([name, need, true]);
      }
      for (const name of ['lint', 'test', 'pip-audit', 'trivy', 'build'])
        expect([name, needsOf(ci[name])]).toEqual([name, []]);
      expect(ci.push.needs).toEqual([
        { job: 'build', artifacts: true },
        { job: 'lint', artifacts: false },
        { job: 'test', artifacts: false },
        { job: 'pip-audit', artifacts: false },
        { job: 'trivy', artifacts: false },
      ]);
      expect(ci['update-gitops'].needs).toEqual([
        { job: 'push', artifacts: false },
      ]);
    });

    it('builds, pushes and updates GitOps exactly as the Node.js pipeline does', () => {
      expect(ci['.docker']).toEqual(nodeCi['.docker']);
      expect(ci.build.needs).toEqual([]);
      expect(ci.build).toEqual(nodeCi.build);
      const { needs: pushNeeds, ...push } = ci.push;
      const { needs: nodePushNeeds, ...nodePush } = nodeCi.push;
      // The same checks, under their own names (pip-audit for npm-audit).
      expect(pushNeeds.map((n: any) => n.job.replace('pip-', 'npm-'))).toEqual(
        nodePushNeeds.map((n: any) => n.job),
      );
      expect(push).toEqual(nodePush);
      expect(ci.push.id_tokens).toEqual({
        AWS_ID_TOKEN: { aud: '$AWS_OIDC_AUDIENCE' },
      });
      expect(ci['update-gitops']).toEqual(nodeCi['update-gitops']);
    });
  });
});
