import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen, within } from '@testing-library/react';
import { UpgradeStatus } from '@internal/plugin-golden-path-common';
import { GoldenPathClient, goldenPathApiRef } from '../api';
import { RenderVersionCard } from './RenderVersionCard';

const URL_ = `http://backstage.test/api/golden-path/upgrade?entityRef=${encodeURIComponent(
  'component:default/demo',
)}`;

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'demo', annotations: { 'golden-path-idp/run': 'm' } },
  spec: { type: 'service', lifecycle: 'experimental', owner: 'team-a' },
};

async function show(answer: () => Response) {
  const fetch = jest.fn(async (input: RequestInfo | URL) => {
    if (String(input) !== URL_) throw new Error(`unexpected request to ${input}`);
    return answer();
  });
  await renderInTestApp(
    <EntityProvider entity={entity}>
      <RenderVersionCard />
    </EntityProvider>,
    {
      apis: [
        [
          goldenPathApiRef,
          new GoldenPathClient({
            discoveryApi: mockApis.discovery({ baseUrl: 'http://backstage.test' }),
            fetchApi: { fetch },
          }),
        ] as const,
      ],
    },
  );
  return screen.findByTestId('render-version-card');
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('RenderVersionCard', () => {
  it('shows an up-to-date service', async () => {
    const status: UpgradeStatus = { renderVersion: 3, currentRenderVersion: 3, upgradeWaiting: false };
    const card = await show(() => json(200, status));
    expect(await within(card).findByText('Up to date')).toBeInTheDocument();
    expect(within(card).getByText('3 (current 3)')).toBeInTheDocument();
    expect(within(card).getByTestId('status-ok')).toBeInTheDocument();
  });

  it('links the waiting upgrade merge request', async () => {
    const card = await show(() =>
      json(200, {
        renderVersion: 2,
        currentRenderVersion: 3,
        upgradeWaiting: true,
        mergeRequest: { iid: 7, url: 'http://gitlab.test/mr/7', title: 'Upgrade' },
      }),
    );
    const link = await within(card).findByRole('link', { name: /MR !7/ });
    expect(link).toHaveAttribute('href', 'http://gitlab.test/mr/7');
    expect(within(card).getByText(/Upgrade waiting/)).toBeInTheDocument();
    expect(within(card).getByText('2 (current 3)')).toBeInTheDocument();
  });

  it('says an upgrade is waiting when only the render version is newer', async () => {
    const card = await show(() => json(200, { renderVersion: 1, currentRenderVersion: 2, upgradeWaiting: true }));
    expect(await within(card).findByText(/render version 2 is out/)).toBeInTheDocument();
    expect(within(card).queryByRole('link')).not.toBeInTheDocument();
  });

  it('shows a service without a record', async () => {
    const card = await show(() => json(200, { renderVersion: null, currentRenderVersion: 2, upgradeWaiting: false }));
    expect(await within(card).findByText(/Not recorded/)).toBeInTheDocument();
    expect(within(card).getByText('Unknown (current 2)')).toBeInTheDocument();
  });

  it('shows the error when the backend cannot answer', async () => {
    const card = await show(() => json(503, { error: { name: 'ServiceUnavailableError', message: 'GitLab is down' } }));
    expect(await within(card).findByText(/Could not read the render version/)).toBeInTheDocument();
  });

  it('says so when the service has no GitOps repository', async () => {
    const card = await show(() => json(404, { error: { name: 'NotFoundError', message: 'x' } }));
    expect(await within(card).findByText('No GitOps repository of this service')).toBeInTheDocument();
  });
});
