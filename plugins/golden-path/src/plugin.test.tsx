import { Entity } from '@backstage/catalog-model';
import {
  createExtensionTester,
  mockApis,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { screen, within } from '@testing-library/react';
import { GoldenPathClient, goldenPathApiRef } from './api';
import { ArgoCdCard } from './components/ArgoCdCard';
import { PipelineCard } from './components/PipelineCard';
import goldenPathPlugin, {
  argoCdEntityCard,
  isArgoCdAvailable,
  isGitLabPipelineAvailable,
  pipelineEntityCard,
} from './index';
import { ArgoCdApplicationStatus, LatestPipeline } from '@internal/plugin-golden-path-common';

const BACKEND = 'http://backstage.test/api/golden-path';
const REF = encodeURIComponent('component:default/demo');

function entity(annotations: Record<string, string> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'demo', annotations },
    spec: { type: 'service', lifecycle: 'experimental', owner: 'team-a' },
  };
}

const annotated = entity({
  'argocd/app-name': 'demo',
  'gitlab.com/project-slug': 'apps/demo',
});

const SHA = '0123456789abcdef0123456789abcdef01234567';

const synced: ArgoCdApplicationStatus = {
  name: 'demo',
  sync: 'Synced',
  health: 'Healthy',
  revision: SHA,
  lastSyncedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
  url: 'http://argocd.test/applications/argocd/demo',
  repoUrl: 'http://gitlab.test/platform/gitops/demo-gitops',
};

const pipeline: LatestPipeline = {
  id: 42,
  status: 'failed',
  ref: 'main',
  sha: SHA,
  createdAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
  webUrl: 'http://gitlab.test/apps/demo/-/pipelines/42',
  stages: [
    { name: 'lint', status: 'success' },
    { name: 'test', status: 'failed' },
    { name: 'build', status: 'skipped' },
  ],
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A fetch API answering `routes[url]`, recording what was asked. */
function fetchApi(routes: Record<string, () => Response | Promise<Response>>) {
  const fetch = jest.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    const route = routes[url];
    if (!route) throw new Error(`unexpected request to ${url}`);
    return route();
  });
  const discoveryApi = mockApis.discovery({ baseUrl: 'http://backstage.test' });
  return {
    api: [
      goldenPathApiRef,
      new GoldenPathClient({ discoveryApi, fetchApi: { fetch } }),
    ] as const,
    fetch,
  };
}

function render(
  element: JSX.Element,
  routes: Record<string, () => Response | Promise<Response>>,
  subject = annotated,
) {
  const { api, fetch } = fetchApi(routes);
  renderInTestApp(<EntityProvider entity={subject}>{element}</EntityProvider>, {
    apis: [api],
  });
  return fetch;
}

describe('ArgoCdCard', () => {
  const url = `${BACKEND}/argocd/application?entityRef=${REF}`;

  it('shows sync status, health, last sync, revision and links', async () => {
    const fetch = render(<ArgoCdCard />, { [url]: () => json(200, synced) });
    const card = await screen.findByTestId('argocd-card');
    await within(card).findByText('Synced');
    expect(within(card).getByText('ArgoCD')).toBeInTheDocument();
    expect(within(card).getByText('Healthy')).toBeInTheDocument();
    expect(within(card).getAllByTestId('status-ok')).toHaveLength(2);
    expect(within(card).getByText('5 minutes ago')).toBeInTheDocument();
    expect(within(card).getByText('01234567')).toHaveAttribute('title', SHA);
    expect(
      within(card).getByRole('link', { name: /Open in ArgoCD/ }),
    ).toHaveAttribute('href', synced.url);
    expect(
      within(card).getByRole('link', { name: /GitOps repository/ }),
    ).toHaveAttribute('href', synced.repoUrl);
    expect(fetch).toHaveBeenCalledWith(url);
  });

  it('shows an application that is out of sync and degraded', async () => {
    render(<ArgoCdCard />, {
      [url]: () =>
        json(200, {
          ...synced,
          sync: 'OutOfSync',
          health: 'Degraded',
          lastSyncedAt: null,
          revision: null,
          repoUrl: null,
        }),
    });
    const card = await screen.findByTestId('argocd-card');
    await within(card).findByText('OutOfSync');
    expect(within(card).getByText('Degraded')).toBeInTheDocument();
    expect(within(card).getByTestId('status-warning')).toBeInTheDocument();
    expect(within(card).getByTestId('status-error')).toBeInTheDocument();
    expect(within(card).getByText('Never synced')).toBeInTheDocument();
    expect(within(card).queryByText('Synced')).not.toBeInTheDocument();
    expect(within(card).queryByText('Healthy')).not.toBeInTheDocument();
    expect(
      within(card).queryByText(/GitOps repository/),
    ).not.toBeInTheDocument();
  });

  it('says so when ArgoCD has no such application', async () => {
    render(<ArgoCdCard />, {
      [url]: () =>
        json(404, { error: { name: 'NotFoundError', message: 'x' } }),
    });
    const card = await screen.findByTestId('argocd-card');
    expect(
      await within(card).findByText(/ArgoCD application not found/),
    ).toBeInTheDocument();
  });

  it('shows the error the backend answered', async () => {
    render(<ArgoCdCard />, {
      [url]: () =>
        json(503, {
          error: {
            name: 'ServiceUnavailableError',
            message: 'ArgoCD: reading application failed',
          },
          response: { statusCode: 503 },
        }),
    });
    const card = await screen.findByTestId('argocd-card');
    expect(
      await within(card).findByText(/Could not read the ArgoCD application/),
    ).toBeInTheDocument();
    expect(
      within(card).getAllByText(/ArgoCD: reading application failed/).length,
    ).toBeGreaterThan(0);
  });

  it('shows progress while loading', async () => {
    render(<ArgoCdCard />, { [url]: () => new Promise<Response>(() => {}) });
    const card = await screen.findByTestId('argocd-card');
    expect(await within(card).findByTestId('progress')).toBeInTheDocument();
  });
});

describe('PipelineCard', () => {
  const url = `${BACKEND}/gitlab/pipelines/latest?entityRef=${REF}`;

  it('shows status, stages in order, when and a link', async () => {
    const fetch = render(<PipelineCard />, {
      [url]: () => json(200, pipeline),
    });
    const card = await screen.findByTestId('pipeline-card');
    await within(card).findByText('failed');
    expect(within(card).getByText('Latest pipeline')).toBeInTheDocument();
    expect(
      within(card)
        .getAllByTestId('pipeline-stage')
        .map(li => li.textContent),
    ).toEqual(['lint: success', 'test: failed', 'build: skipped']);
    expect(within(card).getByText('2 hours ago')).toBeInTheDocument();
    expect(within(card).getByText('main')).toBeInTheDocument();
    expect(
      within(card).getByRole('link', { name: /Open pipeline/ }),
    ).toHaveAttribute('href', pipeline.webUrl);
    expect(fetch).toHaveBeenCalledWith(url);
  });

  it('says when no pipeline has run yet', async () => {
    render(<PipelineCard />, {
      [url]: () =>
        json(404, { error: { name: 'NotFoundError', message: 'x' } }),
    });
    const card = await screen.findByTestId('pipeline-card');
    expect(
      await within(card).findByText('No pipeline has run yet'),
    ).toBeInTheDocument();
    expect(within(card).queryByText('Open pipeline')).not.toBeInTheDocument();
  });

  it('shows the error the backend answered', async () => {
    render(<PipelineCard />, {
      [url]: () =>
        json(403, {
          error: {
            name: 'NotAllowedError',
            message: 'GitLab: permission denied',
          },
          response: { statusCode: 403 },
        }),
    });
    const card = await screen.findByTestId('pipeline-card');
    expect(
      await within(card).findByText(/Could not read the pipeline/),
    ).toBeInTheDocument();
  });
});

describe('card filters', () => {
  it('show each card only when its annotation is there', () => {
    expect(isArgoCdAvailable(annotated)).toBe(true);
    expect(isGitLabPipelineAvailable(annotated)).toBe(true);
    expect(isArgoCdAvailable(entity())).toBe(false);
    expect(isGitLabPipelineAvailable(entity())).toBe(false);
    expect(isArgoCdAvailable(entity({ 'argocd/app-name': ' ' }))).toBe(false);
    const onlyGitLab = entity({ 'gitlab.com/project-slug': 'apps/demo' });
    expect(isArgoCdAvailable(onlyGitLab)).toBe(false);
    expect(isGitLabPipelineAvailable(onlyGitLab)).toBe(true);
  });

  it.each([
    [
      'argocd',
      'argocd/app-name',
      () => createExtensionTester(argoCdEntityCard),
      'ArgoCD',
    ],
    [
      'pipeline',
      'gitlab.com/project-slug',
      () => createExtensionTester(pipelineEntityCard),
      'Latest pipeline',
    ],
  ] as const)(
    'the %s card extension filters on %s and renders its card',
    async (_name, annotation, createTester, title) => {
      const tester = createTester();
      const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction);
      expect(filter).toBeDefined();
      expect(filter!(entity({ [annotation]: 'x/y' }))).toBe(true);
      expect(filter!(entity())).toBe(false);
      expect(filter!(entity({ other: 'x' }))).toBe(false);

      const { api } = fetchApi({
        [`${BACKEND}/argocd/application?entityRef=${REF}`]: () => json(200, synced),
        [`${BACKEND}/gitlab/pipelines/latest?entityRef=${REF}`]: () =>
          json(200, pipeline),
      });
      renderInTestApp(
        <EntityProvider entity={annotated}>
          {tester.reactElement()}
        </EntityProvider>,
        {
          apis: [api],
        },
      );
      expect(await screen.findByText(title)).toBeInTheDocument();
    },
  );

  it('the plugin provides its API and both cards', () => {
    expect(goldenPathPlugin.id).toBe('golden-path');
    expect(argoCdEntityCard).toBeDefined();
    expect(pipelineEntityCard).toBeDefined();
  });
});
