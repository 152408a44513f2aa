import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  serializeError,
} from '@backstage/errors';
import { GitbeakerRequestError, Gitlab } from '@gitbeaker/rest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { GitLabClient } from './GitLabClient';
import { createGitLabFake, GitLabFake } from './__testUtils__/gitlabFake';

const HOST = 'gitlab.example.com';
const API_URL = `https://${HOST}/api/v4`;
const TOKEN = 'test-token-that-must-never-leak';

const server = setupServer();
registerMswTestHooks(server);

let fake: GitLabFake;
let client: GitLabClient;

function newClient(token = TOKEN) {
  return new GitLabClient({
    api: new Gitlab({ host: `https://${HOST}`, token }),
    host: HOST,
  });
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

/** Asserts the token appears nowhere in the error, serialized or not. */
function expectNoToken(error: Error, token = TOKEN) {
  expect(error.message).not.toContain(token);
  expect(String(error.stack)).not.toContain(token);
  expect(JSON.stringify(serializeError(error))).not.toContain(token);
}

beforeEach(() => {
  fake = createGitLabFake({ apiUrl: API_URL, token: TOKEN });
  server.use(...fake.handlers);
  client = newClient();
});

afterEach(() => {
  // Every request the client sent must match the hand-written schemas.
  if (fake.schemaViolations.length > 0) {
    throw new Error(
      `Requests did not match the GitLab schemas: ${JSON.stringify(
        fake.schemaViolations,
      )}`,
    );
  }
});

const requestsTo = (method: string, pathPattern: RegExp) =>
  fake.requests.filter(r => r.method === method && pathPattern.test(r.path));

describe('GitLabClient', () => {
  describe('findProject', () => {
    it('returns the project at a full path', async () => {
      const seeded = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
        description: 'Takes payments',
        topics: ['golden-path'],
      });

      await expect(client.findProject('apps/payments-api')).resolves.toEqual({
        id: seeded.id,
        pathWithNamespace: 'apps/payments-api',
        webUrl: `https://${HOST}/apps/payments-api`,
        httpUrlToRepo: `https://${HOST}/apps/payments-api.git`,
        description: 'Takes payments',
        topics: ['golden-path'],
      });
    });

    it('returns undefined when there is no such project', async () => {
      fake.addProject({ groupPath: 'apps', name: 'other' });

      await expect(
        client.findProject('apps/payments-api'),
      ).resolves.toBeUndefined();
    });
  });

  describe('createProject', () => {
    const request = {
      groupPath: 'apps',
      name: 'payments-api',
      description: 'Takes payments',
      topics: ['golden-path', 'node'],
    };

    it('creates a private, empty project with default branch main in the group', async () => {
      const group = fake.addGroup('apps');

      const created = await client.createProject(request);

      expect(created).toMatchObject({
        pathWithNamespace: 'apps/payments-api',
        description: 'Takes payments',
        topics: ['golden-path', 'node'],
        webUrl: `https://${HOST}/apps/payments-api`,
      });
      const stored = fake.project('apps/payments-api');
      expect(stored).toMatchObject({
        id: created.id,
        name: 'payments-api',
        path: 'payments-api',
        namespaceId: group.id,
        visibility: 'private',
        defaultBranch: 'main',
      });
      expect(stored?.branches.size).toBe(0); // no README: the repository is empty
      expect(requestsTo('POST', /^\/projects$/)[0].body).toMatchObject({
        namespace_id: group.id,
        initialize_with_readme: false,
      });
    });

    it('throws ConflictError naming the path when it is taken', async () => {
      fake.addProject({ groupPath: 'apps', name: 'payments-api' });

      const error = await rejectionOf(client.createProject(request));

      expect(error).toBeInstanceOf(ConflictError);
      expect(error.message).toContain('apps/payments-api');
      expect(fake.projects.size).toBe(1);
    });

    it('throws ConflictError when a project pending deletion holds the path', async () => {
      fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      }).markedForDeletion = true;

      await expect(client.createProject(request)).rejects.toBeInstanceOf(
        ConflictError,
      );
    });

    it('throws NotFoundError naming the group when it does not exist', async () => {
      const error = await rejectionOf(client.createProject(request));

      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toContain('apps');
      expect(requestsTo('POST', /^\/projects$/)).toHaveLength(0);
    });
  });

  describe('commitFiles', () => {
    it('pushes every file of an empty repository as create, in one commit', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      const { sha } = await client.commitFiles(project.id, {
        branch: 'main',
        message: 'Initial commit',
        files: [
          { path: 'README.md', content: '# payments-api\n' },
          { path: 'src/index.ts', content: 'export {};\n' },
        ],
      });

      expect(project.commits).toHaveLength(1);
      expect(project.commits[0]).toEqual({
        sha,
        branch: 'main',
        message: 'Initial commit',
        actions: [
          { action: 'create', filePath: 'README.md' },
          { action: 'create', filePath: 'src/index.ts' },
        ],
      });
      expect(Object.fromEntries(project.branches.get('main')!)).toEqual({
        'README.md': '# payments-api\n',
        'src/index.ts': 'export {};\n',
      });
    });

    it('sends binary files as base64 and sets every file mode explicitly', async () => {
      const project = fake.addProject({ groupPath: 'apps', name: 'bin' });
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
      await client.commitFiles(project.id, {
        branch: 'main',
        message: 'Initial commit',
        files: [
          { path: 'logo.png', content: png.toString('base64'), encoding: 'base64' },
          { path: 'bin/run', content: '#!/bin/sh\n', executable: true },
          { path: 'README.md', content: '# bin\n' },
        ],
      });
      const [commit] = requestsTo('POST', /\/repository\/commits$/);
      expect((commit.body as any).actions).toEqual([
        {
          action: 'create',
          file_path: 'logo.png',
          content: png.toString('base64'),
          encoding: 'base64',
          execute_filemode: false,
        },
        {
          action: 'create',
          file_path: 'bin/run',
          content: '#!/bin/sh\n',
          encoding: 'text',
          execute_filemode: true,
        },
        {
          action: 'create',
          file_path: 'README.md',
          content: '# bin\n',
          encoding: 'text',
          execute_filemode: false,
        },
      ]);
    });

    it('updates existing files and creates new ones in exactly one commit', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
        files: {
          'README.md': 'old readme',
          'src/index.ts': 'old index',
          'docs/keep.md': 'untouched',
        },
      });

      const { sha } = await client.commitFiles(project.id, {
        branch: 'main',
        message: 'Golden path update',
        files: [
          { path: 'README.md', content: 'new readme' },
          { path: 'src/index.ts', content: 'new index' },
          { path: 'src/new.ts', content: 'new file' },
          { path: '.gitlab-ci.yml', content: 'stages: [build]\n' },
        ],
      });

      expect(requestsTo('POST', /\/repository\/commits$/)).toHaveLength(1);
      // One tree listing, no request per file.
      expect(requestsTo('GET', /\/repository\/tree$/)).toHaveLength(1);
      expect(requestsTo('GET', /\/repository\/files\//)).toHaveLength(0);
      expect(requestsTo('GET', /\/repository\/tree$/)[0].query).toMatchObject({
        ref: 'main',
        recursive: 'true',
      });
      expect(project.commits).toEqual([
        {
          sha,
          branch: 'main',
          message: 'Golden path update',
          actions: [
            { action: 'update', filePath: 'README.md' },
            { action: 'update', filePath: 'src/index.ts' },
            { action: 'create', filePath: 'src/new.ts' },
            { action: 'create', filePath: '.gitlab-ci.yml' },
          ],
        },
      ]);
      expect(Object.fromEntries(project.branches.get('main')!)).toEqual({
        'README.md': 'new readme',
        'src/index.ts': 'new index',
        'docs/keep.md': 'untouched',
        'src/new.ts': 'new file',
        '.gitlab-ci.yml': 'stages: [build]\n',
      });
    });

    it('follows tree pagination to find every existing file', async () => {
      const existing = Object.fromEntries(
        Array.from({ length: 150 }, (_, i) => [
          `f/${String(i).padStart(3, '0')}.txt`,
          'x',
        ]),
      );
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'big',
        files: existing,
      });

      await client.commitFiles(project.id, {
        branch: 'main',
        message: 'Touch the last one',
        files: [
          { path: 'f/149.txt', content: 'y' },
          { path: 'f/150.txt', content: 'z' },
        ],
      });

      expect(requestsTo('GET', /\/repository\/tree$/).length).toBeGreaterThan(
        1,
      );
      expect(project.commits[0].actions).toEqual([
        { action: 'update', filePath: 'f/149.txt' },
        { action: 'create', filePath: 'f/150.txt' },
      ]);
    });

    it('throws NotFoundError for a missing project', async () => {
      await expect(
        client.commitFiles(999, {
          branch: 'main',
          message: 'm',
          files: [{ path: 'a', content: 'b' }],
        }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('protectBranch', () => {
    it('protects the branch: maintainers push and merge, no force push', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      await client.protectBranch(project.id, 'main');

      expect(project.protectedBranches.get('main')).toEqual({
        name: 'main',
        pushAccessLevel: 40,
        mergeAccessLevel: 40,
        allowForcePush: false,
      });
    });

    it('treats an already protected branch as done', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      await client.protectBranch(project.id, 'main');

      await expect(
        client.protectBranch(project.id, 'main'),
      ).resolves.toBeUndefined();

      expect(requestsTo('POST', /\/protected_branches$/)).toHaveLength(2);
      expect(project.protectedBranches.size).toBe(1);
    });
  });

  describe('protectBranch with access levels', () => {
    it('lets Developers push and Maintainers merge, never force push', async () => {
      const project = fake.addProject({ groupPath: 'platform/gitops', name: 'x-gitops' });
      await client.protectBranch(project.id, 'main', { push: 30, merge: 40 });
      expect(project.protectedBranches.get('main')).toEqual({
        name: 'main',
        pushAccessLevel: 30,
        mergeAccessLevel: 40,
        allowForcePush: false,
      });
    });

    it('protects a branch protected with other levels again, with these', async () => {
      const project = fake.addProject({ groupPath: 'platform/gitops', name: 'x-gitops' });
      await client.protectBranch(project.id, 'main');
      await client.protectBranch(project.id, 'main', { push: 30, merge: 40 });
      expect(project.protectedBranches.get('main')).toMatchObject({
        pushAccessLevel: 30,
        mergeAccessLevel: 40,
      });
      expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        `POST /projects/${project.id}/protected_branches`,
        `POST /projects/${project.id}/protected_branches`,
        `GET /projects/${project.id}/protected_branches/main`,
        `DELETE /projects/${project.id}/protected_branches/main`,
        `POST /projects/${project.id}/protected_branches`,
      ]);
    });

    it('leaves a branch protected with the same levels alone', async () => {
      const project = fake.addProject({ groupPath: 'platform/gitops', name: 'x-gitops' });
      await client.protectBranch(project.id, 'main', { push: 30, merge: 40 });
      await client.protectBranch(project.id, 'main', { push: 30, merge: 40 });
      expect(requestsTo('DELETE', /protected_branches/)).toHaveLength(0);
    });
  });

  describe('setVariable, hidden', () => {
    const value = 'testOnlyNotAToken0123456789';

    it('creates a masked and hidden variable', async () => {
      const project = fake.addProject({ groupPath: 'apps', name: 'payments-api' });
      await client.setVariable(project.id, {
        key: 'GITOPS_DEPLOY_TOKEN',
        value,
        masked: true,
        hidden: true,
        protected: true,
      });
      expect(project.variables.get('GITOPS_DEPLOY_TOKEN')).toEqual({
        key: 'GITOPS_DEPLOY_TOKEN',
        value,
        variableType: 'env_var',
        masked: true,
        hidden: true,
        protected: true,
      });
    });

    it('replaces an existing variable, since GitLab cannot hide one later', async () => {
      const project = fake.addProject({ groupPath: 'apps', name: 'payments-api' });
      await client.setVariable(project.id, {
        key: 'GITOPS_DEPLOY_TOKEN',
        value: 'old-visible-value',
        masked: true,
        protected: true,
      });
      await client.setVariable(project.id, {
        key: 'GITOPS_DEPLOY_TOKEN',
        value,
        masked: true,
        hidden: true,
        protected: true,
      });
      expect(project.variables.get('GITOPS_DEPLOY_TOKEN')).toMatchObject({
        value,
        hidden: true,
      });
      expect(requestsTo('DELETE', /\/variables\/GITOPS_DEPLOY_TOKEN$/)).toHaveLength(1);
    });

    it('refuses a value GitLab cannot mask, naming the key only', async () => {
      const project = fake.addProject({ groupPath: 'apps', name: 'payments-api' });
      const error = await rejectionOf(
        client.setVariable(project.id, {
          key: 'SECRET',
          value: 'short',
          masked: false,
          hidden: true,
          protected: true,
        }),
      );
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toContain('SECRET');
      expect(error.message).not.toContain('short');
    });
  });

  describe('setVariable', () => {
    it('creates an env_var variable', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      await client.setVariable(project.id, {
        key: 'AWS_SECRET_ACCESS_KEY',
        value: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        masked: true,
        protected: true,
      });

      expect(project.variables.get('AWS_SECRET_ACCESS_KEY')).toEqual({
        key: 'AWS_SECRET_ACCESS_KEY',
        value: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        variableType: 'env_var',
        masked: true,
        protected: true,
      });
    });

    it('updates a variable that already exists', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      await client.setVariable(project.id, {
        key: 'ECR_REPOSITORY',
        value: 'old',
        masked: false,
        protected: false,
      });

      await client.setVariable(project.id, {
        key: 'ECR_REPOSITORY',
        value: 'new-value-1234',
        masked: true,
        protected: true,
      });

      expect(project.variables.get('ECR_REPOSITORY')).toEqual({
        key: 'ECR_REPOSITORY',
        value: 'new-value-1234',
        variableType: 'env_var',
        masked: true,
        protected: true,
      });
      expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        `POST /projects/${project.id}/variables`,
        `POST /projects/${project.id}/variables`,
        `PUT /projects/${project.id}/variables/ECR_REPOSITORY`,
      ]);
    });

    it('accepts masked values of exactly 8 characters and with every allowed symbol', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      const value = 'aZ09+/=@:.~-_';

      await client.setVariable(project.id, {
        key: 'K',
        value,
        masked: true,
        protected: false,
      });
      await client.setVariable(project.id, {
        key: 'EIGHT',
        value: 'abcdefgh',
        masked: true,
        protected: false,
      });

      expect(project.variables.get('K')?.value).toBe(value);
      expect(project.variables.get('EIGHT')?.value).toBe('abcdefgh');
    });

    it('does not check masking rules for an unmasked value', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      await client.setVariable(project.id, {
        key: 'GREETING',
        value: 'hi there\n$USER',
        masked: false,
        protected: false,
      });

      expect(project.variables.get('GREETING')?.value).toBe('hi there\n$USER');
    });

    it.each([
      ['shorter than 8 characters', 'Sh0rt+/', /at least 8 characters/],
      ['more than one line', 'line-one-secret\nline-two-secret', /single line/],
      ['a carriage return', 'line-one-secret\rline-two', /single line/],
      ['a space', 'has a space-secret', /Base64/],
      ['a dollar sign', 'pa$$word-secret', /Base64/],
      ['a non-ASCII letter', 'pässwörd-secret', /Base64/],
      ['a quote', '"quoted-secret"', /Base64/],
    ])(
      'rejects a masked value with %s: InputError naming the key, not the value',
      async (_rule, value, reason) => {
        const project = fake.addProject({
          groupPath: 'apps',
          name: 'payments-api',
        });

        const error = await rejectionOf(
          client.setVariable(project.id, {
            key: 'DB_PASSWORD',
            value,
            masked: true,
            protected: true,
          }),
        );

        expect(error).toBeInstanceOf(InputError);
        expect(error.message).toContain('DB_PASSWORD');
        expect(error.message).toMatch(reason);
        expect(error.message).not.toContain(value);
        expect(JSON.stringify(serializeError(error))).not.toContain(value);
        // Checked before calling GitLab.
        expect(fake.requests).toEqual([]);
        expect(project.variables.size).toBe(0);
      },
    );
  });

  describe('createProjectAccessToken', () => {
    it('creates a project access token and returns its id and value', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      const created = await client.createProjectAccessToken(project.id, {
        name: 'golden-path-ci',
        scopes: ['read_repository', 'write_repository'],
        accessLevel: 40,
        expiresAt: '2026-12-31',
      });

      expect(project.accessTokens).toEqual([
        {
          id: created.id,
          name: 'golden-path-ci',
          scopes: ['read_repository', 'write_repository'],
          accessLevel: 40,
          expiresAt: '2026-12-31',
          token: created.token,
        },
      ]);
      expect(created.token).toMatch(/^glpat-/);
    });
  });

  describe('deleteProject', () => {
    it('marks the project for deletion, then removes it for good', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      fake.addProject({ groupPath: 'apps', name: 'neighbour' });

      await client.deleteProject({
        id: project.id,
        pathWithNamespace: 'apps/payments-api',
      });

      expect(
        fake.requests
          .filter(r => r.method === 'DELETE')
          .map(r => ({ path: r.path, query: r.query })),
      ).toEqual([
        { path: `/projects/${project.id}`, query: {} },
        {
          path: `/projects/${project.id}`,
          query: { permanently_remove: 'true', full_path: 'apps/payments-api' },
        },
      ]);
      expect(fake.project('apps/payments-api')).toBeUndefined();
      expect(fake.project('apps/neighbour')).toBeDefined();
      // The path is free again.
      await expect(
        client.createProject({
          groupPath: 'apps',
          name: 'payments-api',
          description: '',
          topics: [],
        }),
      ).resolves.toMatchObject({ pathWithNamespace: 'apps/payments-api' });
    });

    it('is done when the second DELETE finds nothing (no delayed deletion)', async () => {
      fake = createGitLabFake({
        apiUrl: API_URL,
        token: TOKEN,
        delayedDeletion: false,
      });
      server.use(...fake.handlers);
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });

      await expect(
        client.deleteProject({
          id: project.id,
          pathWithNamespace: 'apps/payments-api',
        }),
      ).resolves.toBeUndefined();

      expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        `DELETE /projects/${project.id}`,
        `DELETE /projects/${project.id}`,
      ]);
      expect(fake.projects.size).toBe(0);
    });

    it('is done when the project does not exist', async () => {
      await expect(
        client.deleteProject({ id: 404, pathWithNamespace: 'apps/gone' }),
      ).resolves.toBeUndefined();

      expect(fake.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        'DELETE /projects/404',
      ]);
    });

    it('finishes a deletion that was interrupted after marking', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      project.markedForDeletion = true;

      await client.deleteProject({
        id: project.id,
        pathWithNamespace: 'apps/payments-api',
      });

      expect(fake.project('apps/payments-api')).toBeUndefined();
    });

    it('throws when GitLab refuses the deletion', async () => {
      const project = fake.addProject({
        groupPath: 'apps',
        name: 'payments-api',
      });
      server.use(
        http.delete(`${API_URL}/projects/:id`, () =>
          HttpResponse.json({ message: '403 Forbidden' }, { status: 403 }),
        ),
      );

      const error = await rejectionOf(
        client.deleteProject({
          id: project.id,
          pathWithNamespace: 'apps/payments-api',
        }),
      );

      expect(error).toBeInstanceOf(NotAllowedError);
      expect(error.message).toContain('apps/payments-api');
    });
  });

  describe('error mapping', () => {
    it.each([
      [401, { message: '401 Unauthorized' }, NotAllowedError],
      [403, { message: '403 Forbidden' }, NotAllowedError],
      [404, { message: '404 Project Not Found' }, NotFoundError],
      [409, { message: 'Conflict' }, ConflictError],
      [400, { message: { name: ['has already been taken'] } }, ConflictError],
      [400, { message: 'Token already exists' }, ConflictError],
      [400, { message: { expires_at: ['is invalid'] } }, InputError],
      [500, { message: '500 Internal Server Error' }, ForwardedError],
      [503, { message: 'Service Unavailable' }, ForwardedError],
    ])('maps HTTP %i %j to %p', async (status, body, errorClass) => {
      server.use(
        http.post(`${API_URL}/projects/:id/access_tokens`, () =>
          HttpResponse.json(body, { status }),
        ),
      );

      const error = await rejectionOf(
        client.createProjectAccessToken(7, {
          name: 'golden-path-ci',
          scopes: ['api'],
          accessLevel: 40,
          expiresAt: '2026-12-31',
        }),
      );

      expect(error).toBeInstanceOf(errorClass);
      expect(error.message).toContain('golden-path-ci');
      expect(error.message).toContain('project 7');
      expectNoToken(error);
      // The gitbeaker error is kept as the cause.
      const cause = (error as ForwardedError).cause as GitbeakerRequestError;
      expect(cause).toBeInstanceOf(GitbeakerRequestError);
      expect(cause.cause?.response.status).toBe(status);
    });

    it('maps a network failure to ForwardedError keeping the cause', async () => {
      server.use(
        http.get(`${API_URL}/projects/:id`, () => HttpResponse.error()),
      );

      const error = await rejectionOf(client.findProject('apps/payments-api'));

      expect(error).toBeInstanceOf(ForwardedError);
      expect(error.message).toContain('apps/payments-api');
      expect((error as ForwardedError).cause).toBeInstanceOf(Error);
    });

    it('never puts the token in an error, whatever fails', async () => {
      fake.addProject({ groupPath: 'apps', name: 'payments-api' });
      const wrongToken = 'test-wrong-token-never-shown';
      const errors = [
        // 401 from GitLab, sent with a wrong token.
        await rejectionOf(
          newClient(wrongToken).findProject('apps/payments-api'),
        ),
        await rejectionOf(
          client.createProject({
            groupPath: 'apps',
            name: 'payments-api',
            description: '',
            topics: [],
          }),
        ),
        await rejectionOf(
          client.setVariable(1, {
            key: 'TOKEN',
            value: TOKEN.slice(0, 7),
            masked: true,
            protected: true,
          }),
        ),
        await rejectionOf(client.protectBranch(999, 'main')),
      ];

      expect(errors.map(e => e.constructor)).toEqual([
        NotAllowedError,
        ConflictError,
        InputError,
        NotFoundError,
      ]);
      for (const error of errors) {
        expectNoToken(error);
        expectNoToken(error, wrongToken);
      }
    });
  });

  describe('fromConfig', () => {
    const integrations = {
      gitlab: [
        { host: 'gitlab.com', token: 'glpat-for-gitlab-com' },
        { host: HOST, apiBaseUrl: `https://${HOST}/api/v4`, token: TOKEN },
      ],
    };

    it('talks to https://<host>/api/v4 with the token of the matching integration', async () => {
      fake.addProject({ groupPath: 'apps', name: 'payments-api' });
      const fromConfig = GitLabClient.fromConfig(
        new ConfigReader({
          goldenPath: { gitlab: { host: HOST } },
          integrations,
        }),
      );

      await expect(
        fromConfig.findProject('apps/payments-api'),
      ).resolves.toMatchObject({
        pathWithNamespace: 'apps/payments-api',
      });
      expect(fake.requests).toHaveLength(1);
    });

    it.each([
      'http://localhost:8929/api/v4',
      'http://localhost:8929/api/v4/',
      'http://localhost:8929/api/v4//',
      'http://localhost:8929',
    ])('talks to apiBaseUrl %s', async apiBaseUrl => {
      const sandbox = createGitLabFake({
        apiUrl: 'http://localhost:8929/api/v4',
        token: TOKEN,
      });
      server.use(...sandbox.handlers);
      sandbox.addProject({ groupPath: 'apps', name: 'payments-api' });
      const fromConfig = GitLabClient.fromConfig(
        new ConfigReader({
          goldenPath: { gitlab: { host: HOST } },
          integrations: {
            gitlab: [{ host: HOST, apiBaseUrl, token: TOKEN }],
          },
        }),
      );

      await expect(
        fromConfig.findProject('apps/payments-api'),
      ).resolves.toMatchObject({
        webUrl: 'http://localhost:8929/apps/payments-api',
      });
      expect(sandbox.requests.map(r => r.path)).toEqual([
        '/projects/apps%2Fpayments-api',
      ]);
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['no integrations at all', {}],
      [
        'no entry for the host',
        { gitlab: [{ host: 'gitlab.com', token: 'glpat-x' }] },
      ],
      [
        'an entry without a token',
        { gitlab: [{ host: HOST, apiBaseUrl: `https://${HOST}/api/v4` }] },
      ],
    ])('throws a clear error when there is %s', (_case, config) => {
      expect(() =>
        GitLabClient.fromConfig(
          new ConfigReader({
            goldenPath: { gitlab: { host: HOST } },
            integrations: config,
          }),
        ),
      ).toThrow(
        /goldenPath\.gitlab\.host 'gitlab\.example\.com'.*integrations\.gitlab\[\] entry with host 'gitlab\.example\.com' and a token/,
      );
    });

    it('throws when goldenPath.gitlab.host is missing', () => {
      expect(() =>
        GitLabClient.fromConfig(new ConfigReader({ integrations })),
      ).toThrow(/goldenPath\.gitlab\.host/);
    });
  });

  it('refuses a camelizing gitbeaker client', () => {
    expect(
      () =>
        new GitLabClient({
          api: new Gitlab({
            host: `https://${HOST}`,
            token: TOKEN,
            camelize: true,
          }),
          host: HOST,
        }),
    ).toThrow(/camelize/);
  });
});
