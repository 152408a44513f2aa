import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
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
import { deriveNames } from '../render/derive';
import { validName } from '../__testUtils__/arbitraries';
import { conformancePath, skeletonDir } from './__testUtils__/paths';
import {
  fetchStepValues,
  FormParameters,
  makeTempDir,
  renderSkeleton,
  stepOutputs,
  testSettings,
} from './__testUtils__/render';

const parameters: FormParameters = {
  name: 'payments-api',
  owner: 'group:default/team-payments',
  description: 'Takes payments: cards, "wallets" & refunds # v1',
  port: 8080,
};
const settings = testSettings;
const names = deriveNames(settings, parameters.name);

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

const catalogPolicy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

describe('templates/nodejs-service/skeleton rendered by fetch:template', () => {
  let out: string;
  const read = (file: string) => fs.readFileSync(path.join(out, file), 'utf8');

  beforeAll(async () => {
    out = makeTempDir('gp-skeleton-');
    const steps = await stepOutputs(parameters.name);
    await renderSkeleton({
      values: fetchStepValues(parameters, steps),
      workspacePath: out,
    });
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('renders every file and leaves no template syntax behind', () => {
    expect(listFiles(out)).toEqual(listFiles(skeletonDir));
    expect(listFiles(out)).toEqual(
      expect.arrayContaining([
        '.dockerignore',
        '.gitignore',
        '.gitlab-ci.yml',
        'Dockerfile',
        'README.md',
        'catalog-info.yaml',
        'eslint.config.js',
        'package-lock.json',
        'package.json',
      ]),
    );
    for (const file of listFiles(out)) {
      expect([file, read(file)]).not.toEqual([
        file,
        expect.stringMatching(/\$\{\{|\{%|\{#/),
      ]);
    }
  });

  it('only fills in the placeholders: the lock file changes in its two name fields only', () => {
    const source = JSON.parse(
      fs.readFileSync(path.join(skeletonDir, 'package-lock.json'), 'utf8'),
    );
    const rendered = JSON.parse(read('package-lock.json'));
    expect(rendered.name).toBe(parameters.name);
    expect(rendered.packages[''].name).toBe(parameters.name);
    source.name = source.packages[''].name = parameters.name;
    expect(rendered).toEqual(source);
    expect(JSON.parse(read('package.json')).name).toBe(parameters.name);

    const lock = read('package-lock.json');
    expect(lock).not.toMatch(/"resolved"/);
    expect(lock).not.toMatch(/https?:/);
  });

  it('uses the chosen port in the server and the Dockerfile', () => {
    expect(read('src/server.js')).toContain(
      `const DEFAULT_PORT = Number('${parameters.port}');`,
    );
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${parameters.port}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`PORT=${parameters.port}$`, 'm'));
  });

  it('has a multi-stage, non-root Dockerfile with a health check', () => {
    const dockerfile = read('Dockerfile');
    const froms = dockerfile.match(/^FROM .*/gm) ?? [];
    expect(froms).toEqual([
      'FROM node:22-alpine AS deps',
      'FROM node:22-alpine',
    ]);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(dockerfile).toMatch(/^COPY --from=deps /m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(
      /^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", ".*\/health/m,
    );
    expect(read('.dockerignore')).toMatch(/^node_modules$/m);
    expect(read('.dockerignore')).toMatch(/^image\.tar$/m);
  });

  it('has a catalog-info.yaml that the catalog accepts as a Component', async () => {
    const doc = parseSingleDocument(read('catalog-info.yaml'));
    const entity = (await catalogPolicy.enforce(doc as Entity)) as Entity;
    await expect(componentEntityV1alpha1Validator.check(entity)).resolves.toBe(
      true,
    );
    expect(entity).toMatchObject({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: parameters.name,
        description: parameters.description,
        annotations: {
          'gitlab.com/project-slug': names.appRepoPath,
          'argocd/app-name': names.argocdApplication,
          'backstage.io/kubernetes-id': parameters.name,
          'backstage.io/kubernetes-namespace': names.namespace,
          'backstage.io/source-location': `url:${names.appRepoWebUrl}/-/tree/main/`,
        },
      },
      spec: {
        type: 'service',
        lifecycle: 'experimental',
        owner: parameters.owner,
      },
    });
    expect(entity.metadata.links?.map(l => l.url)).toEqual([
      names.appRepoWebUrl,
      names.gitopsRepoWebUrl,
      `${names.appRepoWebUrl}/-/pipelines`,
      names.argocdAppUrl,
      names.liveUrl,
    ]);
  });

  describe('.gitlab-ci.yml', () => {
    let ci: any;
    beforeAll(() => {
      ci = parseSingleDocument(read('.gitlab-ci.yml'));
    });

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

    it('runs exactly six stages in order', () => {
      expect(ci.stages).toEqual([
        'lint',
        'test',
        'security',
        'build',
        'push',
        'update-gitops',
      ]);
      const jobs = Object.entries<any>(ci).filter(
        ([key, job]) => !key.startsWith('.') && job?.stage,
      );
      expect(new Set(jobs.map(([, job]) => job.stage))).toEqual(
        new Set(ci.stages),
      );
      expect(ci.variables).toMatchObject({
        SERVICE_NAME: parameters.name,
        ECR_REGISTRY: settings.ecrRegistry,
        IMAGE_REPOSITORY: `${settings.ecrRegistry}/${names.ecrRepository}`,
        GITLAB_HOST: settings.gitlabHost,
        GITOPS_REPO_PATH: names.gitopsRepoPath,
      });
    });

    it('lints and tests with npm ci on node:22-alpine, with a cache', () => {
      for (const job of ['lint', 'test']) {
        expect(ci[job].extends).toBe('.node');
      }
      expect(ci['.node'].image).toBe('node:22-alpine');
      expect(ci['.node'].before_script).toEqual([
        expect.stringMatching(/^npm ci\b/),
      ]);
      expect(ci['.node'].cache).toEqual({
        key: { files: ['package-lock.json'] },
        paths: ['.npm/'],
      });
      expect(ci.lint.script).toEqual(['npm run lint']);
      expect(ci.test.script).toEqual([expect.stringMatching(/^npm test\b/)]);
    });

    it('fails on high or critical findings of npm audit and Trivy', () => {
      expect(ci['npm-audit'].script).toEqual(['npm audit --audit-level=high']);
      expect(ci.trivy.script.join('\n')).toMatch(
        /trivy fs .*--severity CRITICAL,HIGH --exit-code 1/,
      );
      expect(ci.trivy.image.name).toMatch(/@sha256:[0-9a-f]{64}$/);
    });

    it('pushes and deploys only from the default branch', () => {
      const defaultBranchOnly = [
        { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
      ];
      expect(ci.build.rules).toBeUndefined();
      expect(ci.push.rules).toEqual(defaultBranchOnly);
      expect(ci['update-gitops'].rules).toEqual(defaultBranchOnly);
      const push = ci.push.script.join('\n');
      expect(push).toContain(
        'docker tag "$SERVICE_NAME:$CI_COMMIT_SHA" "$IMAGE_REPOSITORY:$CI_COMMIT_SHA"',
      );
      expect(push).toContain('docker push "$IMAGE_REPOSITORY:$CI_COMMIT_SHA"');
      expect(push).toContain(
        'aws ecr get-login-password --region "$AWS_DEFAULT_REGION"',
      );
      expect(ci.build.artifacts.paths).toEqual(['image.tar']);
    });

    it('starts every job as soon as what it needs exists, and pushes only after every check', () => {
      const jobs = Object.entries<any>(ci).filter(
        ([key, job]) => !key.startsWith('.') && job?.stage,
      );
      const needsOf = (job: any): string[] | undefined =>
        (job.needs ?? (job.extends ? ci[job.extends]?.needs : undefined))?.map(
          (n: any) => (typeof n === 'string' ? n : n.job),
        );
      for (const [name, job] of jobs) {
        expect([name, Array.isArray(needsOf(job))]).toEqual([name, true]);
        expect([name, job.dependencies]).toEqual([name, undefined]);
      }
      for (const name of ['lint', 'test', 'npm-audit', 'trivy', 'build'])
        expect([name, needsOf(ci[name])]).toEqual([name, []]);
      expect(ci.push.needs).toEqual([
        { job: 'build', artifacts: true },
        { job: 'lint', artifacts: false },
        { job: 'test', artifacts: false },
        { job: 'npm-audit', artifacts: false },
        { job: 'trivy', artifacts: false },
      ]);
      expect(ci['update-gitops'].needs).toEqual([
        { job: 'push', artifacts: false },
      ]);
    });

    describe('push: GitLab OIDC into the CI role, a static key only where one exists', () => {
      /** Runs the push job's before_script after `apk add`, then prints what AWS would read. */
      function login(env: Record<string, string>) {
        const [, credentials] = ci.push.before_script as string[];
        const script = `${credentials}
printf 'file=%s\nsession=%s\n' "\${AWS_WEB_IDENTITY_TOKEN_FILE:-}" "\${AWS_ROLE_SESSION_NAME:-}"
[ -n "\${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ] && printf 'token=%s\n' "$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE")"
true`;
        const res = spawnSync('sh', ['-c', script], {
          env: { PATH: process.env.PATH, CI_PROJECT_ID: '7', CI_PIPELINE_ID: '99', ...env },
          encoding: 'utf8',
        });
        const printed: Record<string, string> = Object.fromEntries(
          res.stdout
            .split('\n')
            .filter(Boolean)
            .map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        return {
          status: res.status,
          stderr: res.stderr,
          file: printed.file ?? '',
          session: printed.session ?? '',
          token: printed.token,
        };
      }

      it("asks GitLab for an ID token with the platform's audience", () => {
        expect(ci.push.id_tokens).toEqual({
          AWS_ID_TOKEN: { aud: '$AWS_OIDC_AUDIENCE' },
        });
        expect(ci.push.before_script[0]).toBe('apk add --no-cache aws-cli');
      });

      it('hands the token to the AWS CLI as a web identity for AWS_ROLE_ARN', () => {
        const result = login({
          AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/idp-payments-api-ci',
          AWS_ID_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.payload.signature',
        });
        expect(result).toMatchObject({
          status: 0,
          token: 'eyJhbGciOiJSUzI1NiJ9.payload.signature',
          session: 'gitlab-7-99',
        });
        fs.rmSync(result.file, { force: true });
      });

      it('uses a static key only when there is no role', () => {
        expect(
          login({ AWS_ACCESS_KEY_ID: 'TESTACCESSKEYID00001', AWS_SECRET_ACCESS_KEY: 'x' }),
        ).toMatchObject({ status: 0, file: '', session: '' });
      });

      it('stops with a clear message when neither is set', () => {
        const result = login({});
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('Neither AWS_ROLE_ARN (GitLab OIDC) nor AWS_ACCESS_KEY_ID is set');
      });
    });
  });

  describe('update-gitops job, run against a local GitOps repository', () => {
    const token = 'glpat-s3cr3t-T0KEN-value';
    const sha = 'b3f1c0ffee5e1d0b2c4a6e8f0123456789abcdef';
    const imageRepo = `${settings.ecrRegistry}/${names.ecrRepository}`;
    let root: string;
    let remote: string;

    const git = (cwd: string, ...args: string[]) => {
      const res = spawnSync('git', args, {
        cwd,
        encoding: 'utf8',
        env: gitEnv(),
      });
      if (res.status !== 0)
        throw new Error(`git ${args.join(' ')} failed: ${res.stderr}`);
      return res.stdout.trim();
    };
    function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
      return {
        PATH: process.env.PATH,
        HOME: root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'fixture',
        GIT_AUTHOR_EMAIL: 'fixture@example.com',
        GIT_COMMITTER_NAME: 'fixture',
        GIT_COMMITTER_EMAIL: 'fixture@example.com',
        ...extra,
      };
    }

    const manifest = (tag: string, extraImageLine = '') =>
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'containers:',
        `  - name: ${parameters.name}`,
        `    image: ${imageRepo}:${tag}`,
        '    ports:',
        `      - containerPort: ${parameters.port}`,
        extraImageLine,
        '',
      ].join('\n');

    function seedRemote(content: string) {
      fs.rmSync(path.join(root, 'remote'), { recursive: true, force: true });
      remote = path.join(root, 'remote', `${names.gitopsRepoPath}.git`);
      fs.mkdirSync(remote, { recursive: true });
      git(remote, 'init', '--quiet', '--bare', '--initial-branch=main');
      const seed = path.join(root, 'seed');
      fs.rmSync(seed, { recursive: true, force: true });
      git(root, 'clone', '--quiet', remote, seed);
      fs.mkdirSync(path.join(seed, 'manifests'));
      fs.writeFileSync(
        path.join(seed, 'manifests', 'deployment.yaml'),
        content,
      );
      git(seed, 'add', '.');
      git(seed, 'commit', '--quiet', '-m', 'initial');
      git(seed, 'push', '--quiet', 'origin', 'HEAD:main');
    }

    /** Runs the job's script with sh, as the runner would, cloning from `remote`. */
    function runJob() {
      const ci = yaml.parse(read('.gitlab-ci.yml'));
      const job = ci['update-gitops'];
      const env = gitEnv({
        ...ci.variables,
        ...job.variables,
        CI_COMMIT_SHA: sha,
        CI_COMMIT_SHORT_SHA: sha.slice(0, 8),
        CI_PIPELINE_URL: `${names.appRepoWebUrl}/-/pipelines/42`,
        GITOPS_DEPLOY_TOKEN: token,
        // Send the job's https clone URL to the local bare repository.
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: `url.file://${path.join(root, 'remote')}/.insteadOf`,
        GIT_CONFIG_VALUE_0: `https://gitlab-ci-token:${token}@${settings.gitlabHost}/`,
      });
      const res = spawnSync('sh', ['-c', job.script.join('\n')], {
        cwd: root,
        env,
        encoding: 'utf8',
      });
      return { status: res.status, output: `${res.stdout}${res.stderr}` };
    }

    beforeAll(() => {
      root = makeTempDir('gp-gitops-');
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    it('rewrites only the image line, commits with [skip ci] and never prints the token', () => {
      seedRemote(manifest('0000000'));
      const first = runJob();
      expect(first.output).not.toContain(token);
      expect(first).toMatchObject({
        status: 0,
        output: expect.stringContaining(`Pushed ${imageRepo}:${sha}`),
      });
      expect(git(remote, 'show', 'main:manifests/deployment.yaml')).toBe(
        manifest(sha).trim(),
      );
      const message = git(remote, 'log', '-1', '--format=%B', 'main');
      expect(message).toContain(
        `Deploy ${parameters.name} ${sha.slice(0, 8)} [skip ci]`,
      );
      expect(git(remote, 'rev-list', '--count', 'main')).toBe('2');

      const again = runJob();
      expect(again).toMatchObject({
        status: 0,
        output: expect.stringContaining('already deploys'),
      });
      expect(git(remote, 'rev-list', '--count', 'main')).toBe('2');
    });

    it('refuses a manifest without exactly one image line', () => {
      seedRemote(manifest('0000000', `    image: ${imageRepo}:sidecar`));
      const res = runJob();
      expect(res.output).not.toContain(token);
      expect(res).toMatchObject({
        status: 1,
        output: expect.stringContaining('found 2'),
      });
      expect(git(remote, 'rev-list', '--count', 'main')).toBe('1');
    });
  });
});

describe('catalog-info.yaml keeps free text intact (property)', () => {
  // Rendering only catalog-info.yaml (same action, a template folder holding
  // just that file) takes about a tenth of a full skeleton render.
  let miniTemplate: string;
  beforeAll(() => {
    const dir = makeTempDir('gp-mini-template-');
    fs.mkdirSync(path.join(dir, 'skeleton'));
    fs.copyFileSync(
      path.join(skeletonDir, 'catalog-info.yaml'),
      path.join(dir, 'skeleton', 'catalog-info.yaml'),
    );
    miniTemplate = path.join(dir, 'template.yaml');
  });
  afterAll(() =>
    fs.rmSync(path.dirname(miniTemplate), { recursive: true, force: true }),
  );

  const yamlHostile = fc.constantFrom(
    ':',
    ': ',
    ' #',
    '#',
    '"',
    "'",
    '\\',
    '\n',
    '\r\n',
    '\t',
    ' ',
    '*',
    '&',
    '!',
    '!!str ',
    '%',
    '@',
    '`',
    '|',
    '>',
    '- ',
    '? ',
    '{',
    '}',
    '[',
    ']',
    ',',
    '---',
    '...',
    '~',
    'null',
    'true',
    'no',
    '0x1F',
    '1e3',
    '${{ values.name }}',
    '{% raw %}',
    '{#',
    '}}',
    'é',
    '日本語',
    '🚀',
    '👩‍💻',
    '\u00a0',
    '\u0085',
    '\u2028',
    '\ufeff',
    '\u007f',
    '\u0000',
    '\u001b',
  );
  const freeText = fc.oneof(
    fc.string({
      unit: fc.oneof(
        yamlHostile,
        fc.string({ unit: 'grapheme', maxLength: 3 }),
      ),
      maxLength: 30,
    }),
    fc
      .tuple(
        fc.constantFrom(
          '*',
          '&',
          '!',
          '|',
          '>',
          '%',
          '@',
          '- ',
          '? ',
          '#',
          '"',
          "'",
          ' ',
        ),
        fc.string(),
      )
      .map(([lead, rest]) => lead + rest),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const name = fc.oneof(
    validName,
    fc.constantFrom('null', 'true', 'false', 'yes', 'off', 'nan', 'inf', 'e10'),
  );

  it('round-trips description, owner and name exactly', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        name,
        freeText,
        freeText,
        async (serviceName, description, owner) => {
          const out = makeTempDir('gp-prop-');
          try {
            const steps = await stepOutputs(serviceName);
            const values = fetchStepValues(
              { name: serviceName, owner, description, port: 3000 },
              steps,
            );
            await renderSkeleton({
              values,
              workspacePath: out,
              templateYamlPath: miniTemplate,
            });
            const doc = parseSingleDocument(
              fs.readFileSync(path.join(out, 'catalog-info.yaml'), 'utf8'),
            );
            expect(doc.metadata.name).toBe(serviceName);
            expect(doc.metadata.description).toBe(description);
            expect(doc.spec.owner).toBe(owner);
            expect(doc.metadata.annotations['backstage.io/kubernetes-id']).toBe(
              serviceName,
            );
            expect(Object.keys(doc).sort()).toEqual([
              'apiVersion',
              'kind',
              'metadata',
              'spec',
            ]);
            runs += 1;
          } finally {
            fs.rmSync(out, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
  }, 120_000);
});
