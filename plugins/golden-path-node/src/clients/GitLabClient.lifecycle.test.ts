import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { Gitlab } from '@gitbeaker/rest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { GitLabClient } from './GitLabClient';

// What Decommission asks of GitLab to retire a project: read and remove its
// CI/CD variables, revoke its access tokens, archive it, schedule deletion.

const HOST = 'gitlab.example.com';
const API = `https://${HOST}/api/v4`;
const TOKEN = 'test-token-that-must-never-leak';

const server = setupServer();
registerMswTestHooks(server);

const client = new GitLabClient({
  api: new Gitlab({ host: `https://${HOST}`, token: TOKEN }),
  host: HOST,
});

/** Every request, as `METHOD path?query`. */
let requests: string[];
beforeEach(() => {
  requests = [];
  server.events.on('request:start', ({ request }) => {
    const url = new URL(request.url);
    requests.push(
      `${request.method} ${decodeURIComponent(url.pathname + url.search)}`,
    );
  });
});
afterEach(() => server.events.removeAllListeners());

describe('GitLabClient: retiring a project', () => {
  it('reads archived and the deletion date with the project', async () => {
    server.use(
      http.get(`${API}/projects/:id`, () =>
        HttpResponse.json({
          id: 7,
          path_with_namespace: 'apps/payments-api',
          web_url: 'w',
          http_url_to_repo: 'h',
          description: '',
          topics: [],
          archived: true,
          marked_for_deletion_on: '2026-12-01',
        }),
      ),
    );
    await expect(
      client.findProject('apps/payments-api'),
    ).resolves.toMatchObject({
      archived: true,
      markedForDeletionOn: '2026-12-01',
    });
  });

  it('lists variables by key and scope only, following every page', async () => {
    server.use(
      http.get(`${API}/projects/7/variables`, ({ request }) => {
        const page = new URL(request.url).searchParams.get('page') ?? '1';
        const body =
          page === '1'
            ? [{ key: 'A', value: 'secret-a', environment_scope: '*' }]
            : [
                {
                  key: 'B',
                  value: 'secret-b',
                  environment_scope: 'production',
                },
              ];
        const headers: Record<string, string> = {
          'x-page': page,
          'x-total-pages': '2',
        };
        if (page === '1') {
          headers['x-next-page'] = '2';
          headers.link = `<${API}/projects/7/variables?page=2&per_page=100>; rel="next"`;
        }
        return HttpResponse.json(body, { headers });
      }),
    );
    const variables = await client.listVariables(7);
    expect(variables).toEqual([
      { key: 'A', environmentScope: '*' },
      { key: 'B', environmentScope: 'production' },
    ]);
    expect(JSON.stringify(variables)).not.toContain('secret');
  });

  it('removes a variable of its own environment scope, and treats 404 as done', async () => {
    server.use(
      http.delete(`${API}/projects/7/variables/:key`, ({ params }) =>
        params.key === 'GONE'
          ? HttpResponse.json(
              { message: '404 Variable Not Found' },
              { status: 404 },
            )
          : new HttpResponse(null, { status: 204 }),
      ),
    );
    await client.deleteVariable(7, {
      key: 'B',
      environmentScope: 'production',
    });
    await client.deleteVariable(7, { key: 'GONE', environmentScope: '*' });
    expect(requests).toEqual([
      'DELETE /api/v4/projects/7/variables/B?filter[environment_scope]=production',
      'DELETE /api/v4/projects/7/variables/GONE?filter[environment_scope]=*',
    ]);
  });

  it('lists only active access tokens, asking GitLab for them', async () => {
    server.use(
      http.get(`${API}/projects/7/access_tokens`, () =>
        HttpResponse.json([
          { id: 1, name: 'deploy', active: true, revoked: false },
          { id: 2, name: 'old', active: false, revoked: true },
        ]),
      ),
    );
    await expect(client.listActiveProjectAccessTokens(7)).resolves.toEqual([
      { id: 1, name: 'deploy' },
    ]);
    expect(requests[0]).toMatch(
      /^GET \/api\/v4\/projects\/7\/access_tokens\?.*state=active/,
    );
  });

  it('revokes a token, and treats 404 (already revoked) as done', async () => {
    server.use(
      http.delete(`${API}/projects/7/access_tokens/:id`, ({ params }) =>
        params.id === '2'
          ? HttpResponse.json({ message: '404 Not Found' }, { status: 404 })
          : new HttpResponse(null, { status: 204 }),
      ),
    );
    await client.revokeProjectAccessToken(7, 1);
    await client.revokeProjectAccessToken(7, 2);
    expect(requests).toEqual([
      'DELETE /api/v4/projects/7/access_tokens/1',
      'DELETE /api/v4/projects/7/access_tokens/2',
    ]);
  });

  it('archives with POST /archive', async () => {
    server.use(
      http.post(`${API}/projects/7/archive`, () =>
        HttpResponse.json({ id: 7, archived: true }, { status: 201 }),
      ),
    );
    await client.archiveProject(7);
    expect(requests).toEqual(['POST /api/v4/projects/7/archive']);
  });

  it('schedules deletion with one DELETE and never removes the project for good', async () => {
    server.use(
      http.delete(`${API}/projects/7`, () =>
        HttpResponse.json({ message: '202 Accepted' }, { status: 202 }),
      ),
    );
    await client.scheduleProjectDeletion({
      id: 7,
      pathWithNamespace: 'apps/payments-api',
    });
    expect(requests).toEqual(['DELETE /api/v4/projects/7']);
  });

  it.each([
    [400, { message: 'Project has been already marked for deletion' }],
    [404, { message: '404 Project Not Found' }],
  ])('treats a schedule answered %s (%j) as done', async (status, body) => {
    server.use(
      http.delete(`${API}/projects/7`, () =>
        HttpResponse.json(body, { status }),
      ),
    );
    await expect(
      client.scheduleProjectDeletion({
        id: 7,
        pathWithNamespace: 'apps/payments-api',
      }),
    ).resolves.toBeUndefined();
  });

  it('maps a refusal to NotAllowedError without the token', async () => {
    server.use(
      http.post(`${API}/projects/7/archive`, () =>
        HttpResponse.json({ message: '403 Forbidden' }, { status: 403 }),
      ),
    );
    const error = await client.archiveProject(7).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toContain('cannot archive project 7');
    expect(error.message).not.toContain(TOKEN);
  });
});
