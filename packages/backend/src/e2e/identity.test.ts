/*
 * Identity in production: the GitHub organisation is the list of who may sign
 * in.
 *
 * A backend with the production config's sign-in and organisation parts
 * (read from app-config.production.yaml and roles.yaml; only the org
 * provider's first read is moved to startup) runs in-process with the plugins
 * and modules packages/backend/src/index.ts loads for
 * `goldenPath.signIn: github` and `catalog.providers.githubOrg`. GitHub is a stand-in (msw): its GraphQL API
 * answers the org provider, its OAuth endpoints answer the sign-in. Then:
 *
 * - the org provider, on its schedule, puts the org's users and teams, with
 *   memberships, into the catalog;
 * - the real OAuth flow (/start, then /handler/frame with the state and the
 *   nonce cookie) signs a member in as their catalog user with their teams,
 *   and refuses someone GitHub knows who is not in the organisation;
 * - the issued identity goes through the golden-path permission policy:
 *   team members are developers, platform-admins are admins, an org member in
 *   no team gets nothing.
 */
import path from 'node:path';
import {
  AuthService,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { userInfoServiceFactory } from '@backstage/backend-defaults/userInfo';
import {
  mockServices,
  registerMswTestHooks,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { ConfigSources, FileConfigSource } from '@backstage/config-loader';
import authPlugin from '@backstage/plugin-auth-backend';
import authModuleGithubProvider from '@backstage/plugin-auth-backend-module-github-provider';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogModuleGithubOrg from '@backstage/plugin-catalog-backend-module-github-org';
import permissionPlugin from '@backstage/plugin-permission-backend';
import permissionModuleGoldenPath from '@internal/plugin-permission-backend-module-golden-path';
import { http, HttpResponse, passthrough } from 'msw';
import { setupServer } from 'msw/node';

jest.setTimeout(60_000);

const REPO_ROOT = path.resolve(__dirname, '../../../..');

const GITHUB_TOKEN = 'ghp_integration-token-for-the-stand-in';
const CLIENT_ID = 'stand-in-client-id';
const CLIENT_SECRET = 'stand-in-client-secret';
const ORG = 'example-org';
const APP_BASE_URL = 'http://localhost:3000';

// ---------------------------------------------------------------------------
// The GitHub stand-in: one organisation, and people who can log in to GitHub.

interface GithubUser {
  login: string;
  databaseId: number;
  nodeId: string;
  name: string;
  email: string;
}

function githubUser(login: string, databaseId: number): GithubUser {
  return {
    login,
    databaseId,
    nodeId: `U_${login}`,
    name: login[0].toUpperCase() + login.slice(1),
    email: `${login}@example.test`,
  };
}

const alice = githubUser('alice', 1001);
const ada = githubUser('ada', 1002);
/** In the organisation, in no team. */
const bob = githubUser('bob', 1003);
/** Has a GitHub account, is not in the organisation. */
const mallory = githubUser('mallory', 6666);

const ORG_MEMBERS = [alice, ada, bob];
const TEAMS = [
  { slug: 'team-a', name: 'Team A', members: [alice] },
  { slug: 'platform-admins', name: 'Platform Admins', members: [ada] },
];

/** OAuth codes GitHub would hand out after each person's consent. */
const CODES: Record<string, GithubUser> = {
  'code-alice': alice,
  'code-ada': ada,
  'code-bob': bob,
  'code-mallory': mallory,
};
const accessTokenFor = (user: GithubUser) => `gho_${user.login}`;

/** What the backend asked the stand-in, to tell a refusal from a broken fake. */
const graphqlCalls: string[] = [];
const oauthCalls: string[] = [];

function graphqlMember(user: GithubUser) {
  return {
    avatarUrl: `https://avatars.example.test/${user.login}`,
    bio: null,
    email: user.email,
    id: user.nodeId,
    login: user.login,
    name: user.name,
    organizationVerifiedDomainEmails: [],
  };
}

/** The token of an `Authorization: Bearer|token …` header (GitHub takes both). */
const bearer = (request: Request) =>
  request.headers.get('authorization')?.match(/^(?:bearer|token) (.+)$/i)?.[1];

const lastPage = { hasNextPage: false, endCursor: null };

const github = [
  // GraphQL API, as the catalog's GitHub org provider calls it (@octokit/graphql).
  http.post('https://api.github.com/graphql', async ({ request }) => {
    if (bearer(request) !== GITHUB_TOKEN) {
      return HttpResponse.json({ message: 'Bad credentials' }, { status: 401 });
    }
    const { query, variables } = (await request.json()) as {
      query: string;
      variables: { org?: string };
    };
    if (variables.org !== ORG) {
      return HttpResponse.json({
        data: { organization: null },
        errors: [{ type: 'NOT_FOUND', message: `No org ${variables.org}` }],
      });
    }
    if (/query users\(/.test(query)) {
      graphqlCalls.push('users');
      return HttpResponse.json({
        data: {
          organization: {
            membersWithRole: {
              pageInfo: lastPage,
              nodes: ORG_MEMBERS.map(graphqlMember),
            },
          },
        },
      });
    }
    if (/query teams\(/.test(query)) {
      graphqlCalls.push('teams');
      return HttpResponse.json({
        data: {
          organization: {
            teams: {
              pageInfo: lastPage,
              nodes: TEAMS.map(team => ({
                slug: team.slug,
                combinedSlug: `${ORG}/${team.slug}`,
                name: team.name,
                description: null,
                avatarUrl: null,
                editTeamUrl: `https://github.com/orgs/${ORG}/teams/${team.slug}/edit`,
                parentTeam: null,
                members: {
                  pageInfo: { hasNextPage: false },
                  nodes: team.members.map(graphqlMember),
                },
              })),
            },
          },
        },
      });
    }
    return HttpResponse.json(
      { errors: [{ message: `stand-in has no answer for: ${query}` }] },
      { status: 400 },
    );
  }),

  // OAuth token exchange (passport-github2 through node-oauth).
  http.post(
    'https://github.com/login/oauth/access_token',
    async ({ request }) => {
      const form = new URLSearchParams(await request.text());
      if (
        form.get('client_id') !== CLIENT_ID ||
        form.get('client_secret') !== CLIENT_SECRET
      ) {
        return HttpResponse.json({ error: 'incorrect_client_credentials' });
      }
      const user = CODES[form.get('code') ?? ''];
      if (!user) {
        return HttpResponse.json({ error: 'bad_verification_code' });
      }
      oauthCalls.push(`token ${user.login}`);
      return HttpResponse.json({
        access_token: accessTokenFor(user),
        token_type: 'bearer',
        scope: 'read:user',
      });
    },
  ),

  // The signed-in person's profile.
  http.get('https://api.github.com/user', ({ request }) => {
    const token = bearer(request);
    const user = Object.values(CODES).find(u => accessTokenFor(u) === token);
    if (!user) {
      return HttpResponse.json({ message: 'Bad credentials' }, { status: 401 });
    }
    oauthCalls.push(`profile ${user.login}`);
    return HttpResponse.json({
      login: user.login,
      id: user.databaseId,
      node_id: user.nodeId,
      name: user.name,
      email: user.email,
      avatar_url: `https://avatars.example.test/${user.login}`,
      html_url: `https://github.com/${user.login}`,
      type: 'User',
    });
  }),
];

const mswServer = setupServer(
  // The test's and the backend's own calls to the test backend.
  http.all(/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//, () =>
    passthrough(),
  ),
  ...github,
);
registerMswTestHooks(mswServer);

// ---------------------------------------------------------------------------
// Config: the sign-in and organisation parts of app-config.production.yaml.

/** The production config, loaded like the real one ($include, ${VARS}). */
async function loadProductionConfig() {
  const env: Record<string, string> = {
    GITHUB_TOKEN,
    GITHUB_ORG: ORG,
    AUTH_GITHUB_CLIENT_ID: CLIENT_ID,
    AUTH_GITHUB_CLIENT_SECRET: CLIENT_SECRET,
    APP_BASE_URL,
  };
  const config = await ConfigSources.toConfig(
    FileConfigSource.create({
      path: path.join(REPO_ROOT, 'app-config.production.yaml'),
      watch: false,
      substitutionFunc: async name => env[name],
    }),
  );
  try {
    return config.get() as any;
  } finally {
    config.close();
  }
}

function testConfig(prod: any) {
  return {
    app: { baseUrl: APP_BASE_URL },
    integrations: { github: prod.integrations.github },
    auth: {
      environment: prod.auth.environment,
      providers: { github: prod.auth.providers.github },
    },
    catalog: {
      rules: prod.catalog.rules,
      providers: {
        githubOrg: {
          ...prod.catalog.providers.githubOrg,
          // Production's schedule (hourly), but the first read at once
          // rather than after the production initial delay.
          schedule: {
            ...prod.catalog.providers.githubOrg.schedule,
            initialDelay: { seconds: 0 },
          },
        },
      },
    },
    goldenPath: {
      signIn: prod.goldenPath.signIn,
      permissions: {
        roles: {
          ...prod.goldenPath.permissions.roles,
          // A GitHub team, ingested by the org provider.
          platformAdmins: ['group:default/platform-admins'],
        },
      },
    },
    permission: prod.permission,
  };
}

// ---------------------------------------------------------------------------
// The backend.

/**
 * A fresh in-memory SQLite database per plugin. Unlike the default database
 * service (which never closes SQLite pools), TestDatabases closes them after
 * the tests, so the worker exits cleanly.
 */
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
// One init at a time: concurrent first calls would each create an engine and
// TestDatabases would keep (and close) only the last one.
let databaseInits: Promise<unknown> = Promise.resolve();
const databaseFactory = createServiceFactory({
  service: coreServices.database,
  deps: {},
  async factory() {
    let client: ReturnType<typeof databases.init> | undefined;
    return {
      getClient: () => {
        client ??= databaseInits.then(() => databases.init('SQLITE_3'));
        databaseInits = client;
        return client;
      },
    };
  },
});

/** Gives the test the backend's own auth and discovery services. */
const probe: { auth?: AuthService; discovery?: DiscoveryService } = {};
const probePlugin = createBackendPlugin({
  pluginId: 'identity-probe',
  register(reg) {
    reg.registerInit({
      deps: { auth: coreServices.auth, discovery: coreServices.discovery },
      async init({ auth, discovery }) {
        probe.auth = auth;
        probe.discovery = discovery;
      },
    });
  },
});

let prod: any;
let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
let baseUrl: string;

async function startIdentityBackend() {
  prod = await loadProductionConfig();
  return startTestBackend({
    features: [
      mockServices.rootConfig.factory({ data: testConfig(prod) }),
      // Real auth, token checks, user info and scheduler, as in production
      // (the test backend's defaults are mocks).
      authServiceFactory,
      httpAuthServiceFactory,
      userInfoServiceFactory,
      schedulerServiceFactory,
      databaseFactory,

      authPlugin,
      // index.ts loads these two for goldenPath.signIn: github and
      // catalog.providers.githubOrg (asserted below from the production config).
      authModuleGithubProvider,
      catalogModuleGithubOrg,
      catalogPlugin,
      permissionPlugin,
      permissionModuleGoldenPath,
      probePlugin,
    ],
  });
}

/** A catalog API call as a backend plugin makes it (service token). */
async function catalogGet(urlPath: string) {
  const auth = probe.auth!;
  const { token } = await auth.getPluginRequestToken({
    onBehalfOf: await auth.getOwnServiceCredentials(),
    targetPluginId: 'catalog',
  });
  const res = await fetch(
    `${await probe.discovery!.getBaseUrl('catalog')}${urlPath}`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  return {
    status: res.status,
    body: res.status === 200 ? await res.json() : await res.text(),
  };
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${what}${last ? `: ${last}` : ''}`,
      );
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

const refsOf = (entity: any, type: string): string[] =>
  (entity.relations ?? [])
    .filter((r: any) => r.type === type)
    .map((r: any) => r.targetRef)
    .sort();

/** The message the sign-in popup posts to the app, as the frame sends it. */
function postedMessage(html: string): any {
  const match = html.match(
    /var authResponse = decodeURIComponent\('([^']*)'\)/,
  );
  if (!match) throw new Error(`No auth response in frame: ${html}`);
  return JSON.parse(decodeURIComponent(match[1]));
}

/** The whole OAuth round trip a browser makes, for someone with `code`. */
async function signInWithGithub(code: string) {
  const start = await fetch(`${baseUrl}/api/auth/github/start?env=production`, {
    redirect: 'manual',
  });
  expect(start.status).toBe(302);
  const authorizeUrl = new URL(start.headers.get('location')!);
  expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(
    'https://github.com/login/oauth/authorize',
  );
  expect(authorizeUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
  expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(
    `${baseUrl}/api/auth/github/handler/frame`,
  );
  const state = authorizeUrl.searchParams.get('state')!;
  // The first github-nonce cookie clears a legacy one; take the set one.
  const nonceCookie = start.headers
    .getSetCookie()
    .map(c => c.split(';')[0])
    .find(c => /^github-nonce=./.test(c));
  expect(nonceCookie).toBeDefined();

  // GitHub sends the browser back with a code and the state.
  const frame = await fetch(
    `${baseUrl}/api/auth/github/handler/frame?${new URLSearchParams({
      code,
      state,
    })}`,
    { headers: { cookie: nonceCookie! }, redirect: 'manual' },
  );
  expect(frame.status).toBe(200);
  expect(frame.headers.get('content-type')).toMatch(/text\/html/);
  return postedMessage(await frame.text());
}

/** POST /api/permission/authorize with a user's Backstage token. */
async function authorize(
  token: string,
  permission: object,
  resourceRef?: string,
) {
  const res = await fetch(`${baseUrl}/api/permission/authorize`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ items: [{ id: '1', permission, resourceRef }] }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  return body.items[0].result as string;
}
const catalogEntityRead = {
  type: 'resource',
  name: 'catalog.entity.read',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
};
const catalogLocationCreate = {
  type: 'basic',
  name: 'catalog.location.create',
  attributes: { action: 'create' },
};

// ---------------------------------------------------------------------------

describe('production identity: GitHub organisation and sign-in', () => {
  beforeAll(async () => {
    backend = await startIdentityBackend();
    baseUrl = `http://localhost:${backend.server.port()}`;
  });
  afterAll(async () => {
    await backend?.stop();
    backend = undefined;
  });

  it('uses the production config that makes index.ts load GitHub sign-in and the org provider', () => {
    expect(prod.goldenPath.signIn).toBe('github');
    expect(prod.catalog.providers.githubOrg).toMatchObject({
      githubUrl: 'https://github.com',
      orgs: [ORG],
    });
    expect(prod.integrations.github).toEqual([
      { host: 'github.com', token: GITHUB_TOKEN },
    ]);
    expect(prod.auth.environment).toBe('production');
    expect(prod.auth.providers.github.production.signIn.resolvers).toEqual([
      { resolver: 'usernameMatchingUserEntityName' },
    ]);
  });

  it('loads the organisation’s users and teams, with memberships, into the catalog', async () => {
    // The scheduled read has run and the catalog has processed its output.
    const entities = await waitFor(
      '3 users and 2 groups in the catalog',
      async () => {
        const { status, body } = await catalogGet(
          '/entities/by-query?filter=kind=user&filter=kind=group&limit=100',
        );
        return status === 200 && body.items.length >= 5
          ? body.items
          : undefined;
      },
    );
    expect(graphqlCalls).toEqual(['users', 'teams']);

    const byRef = Object.fromEntries(
      entities.map((e: any) => [
        `${e.kind.toLowerCase()}:${e.metadata.namespace}/${e.metadata.name}`,
        e,
      ]),
    );
    expect(Object.keys(byRef).sort()).toEqual([
      'group:default/platform-admins',
      'group:default/team-a',
      'user:default/ada',
      'user:default/alice',
      'user:default/bob',
    ]);

    const aliceEntity = byRef['user:default/alice'];
    expect(aliceEntity.spec.memberOf).toEqual(['team-a']);
    expect(refsOf(aliceEntity, 'memberOf')).toEqual(['group:default/team-a']);
    expect(aliceEntity.metadata.annotations).toMatchObject({
      'github.com/user-login': 'alice',
      'backstage.io/managed-by-location': 'url:https://github.com/alice',
    });
    expect(refsOf(byRef['user:default/ada'], 'memberOf')).toEqual([
      'group:default/platform-admins',
    ]);
    expect(refsOf(byRef['user:default/bob'], 'memberOf')).toEqual([]);
    expect(refsOf(byRef['group:default/team-a'], 'hasMember')).toEqual([
      'user:default/alice',
    ]);
    expect(refsOf(byRef['group:default/platform-admins'], 'hasMember')).toEqual(
      ['user:default/ada'],
    );

    // The non-member is nowhere in the catalog.
    expect(
      (await catalogGet('/entities/by-name/user/default/mallory')).status,
    ).toBe(404);
  });

  it('signs in an organisation member as their catalog user, with their team', async () => {
    const message = await signInWithGithub('code-alice');
    expect(message.type).toBe('authorization_response');
    expect(message.error).toBeUndefined();
    const identity = message.response.backstageIdentity;
    expect(identity.identity).toEqual({
      type: 'user',
      userEntityRef: 'user:default/alice',
      ownershipEntityRefs: expect.arrayContaining([
        'user:default/alice',
        'group:default/team-a',
      ]),
    });
    expect(identity.identity.ownershipEntityRefs).not.toContain(
      'group:default/platform-admins',
    );
    const claims = JSON.parse(
      Buffer.from(identity.token.split('.')[1], 'base64url').toString(),
    );
    expect(claims.sub).toBe('user:default/alice');
    expect(message.response.profile).toMatchObject({ displayName: 'Alice' });

    // The token is a real Backstage user token: the permission policy sees
    // alice's team and makes her a developer, not an admin.
    expect(
      await authorize(
        identity.token,
        catalogEntityRead,
        'group:default/team-a',
      ),
    ).toBe('ALLOW');
    expect(await authorize(identity.token, catalogLocationCreate)).toBe('DENY');
  });

  it('makes a member of the platform-admins team an admin', async () => {
    const message = await signInWithGithub('code-ada');
    const { identity, token } = message.response.backstageIdentity;
    expect(identity.userEntityRef).toBe('user:default/ada');
    expect(identity.ownershipEntityRefs).toContain(
      'group:default/platform-admins',
    );
    expect(await authorize(token, catalogLocationCreate)).toBe('ALLOW');
  });

  it('signs in an organisation member in no team, and the policy gives them nothing', async () => {
    const message = await signInWithGithub('code-bob');
    const { identity, token } = message.response.backstageIdentity;
    expect(identity.userEntityRef).toBe('user:default/bob');
    expect(identity.ownershipEntityRefs).toEqual(['user:default/bob']);
    expect(
      await authorize(token, catalogEntityRead, 'group:default/team-a'),
    ).toBe('DENY');
  });

  it('refuses the sign-in of someone who is not in the organisation', async () => {
    oauthCalls.length = 0;
    const message = await signInWithGithub('code-mallory');
    // GitHub did authenticate mallory: the refusal is Backstage's.
    expect(oauthCalls).toEqual(['token mallory', 'profile mallory']);
    expect(message.type).toBe('authorization_response');
    expect(message.response).toBeUndefined();
    // usernameMatchingUserEntityName found no user:default/mallory.
    expect(message.error).toEqual({
      name: 'Error',
      message: expect.stringContaining(
        'Failed to sign-in, unable to resolve user identity',
      ),
    });
    expect(JSON.stringify(message)).not.toMatch(/"token"/);
  });
});
