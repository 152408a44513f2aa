import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  LIFECYCLE_ACTION_ANNOTATION,
  RUN_MARKER_KEY,
  serviceDecommissionPermission,
  serviceUpgradePermission,
} from '@internal/plugin-golden-path-common';
import { screen, within } from '@testing-library/react';
import { isGoldenPathService } from '../filters';
import { LifecycleCard } from './LifecycleCard';

const service: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-api',
    annotations: { [RUN_MARKER_KEY]: '0123456789abcdef0123456789abcdef' },
  },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/team-payments',
  },
};

const decommissionTemplate: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: {
    name: 'retire-it',
    namespace: 'platform',
    annotations: { [LIFECYCLE_ACTION_ANNOTATION]: 'decommission' },
  },
  spec: {},
};

const upgradeTemplate: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: {
    name: 'upgrade-services',
    annotations: { [LIFECYCLE_ACTION_ANNOTATION]: 'upgrade' },
  },
  spec: {},
};

const otherTemplate: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'nodejs-service' },
  spec: {},
};

/**
 * usePermission caches decisions by permission and resource for the whole
 * test file, so each test asks about a service of its own.
 */
let serial = 0;

function render(opts: {
  allowed: boolean;
  upgrade?: boolean;
  templates?: Entity[];
}) {
  const name = `payments-api-${++serial}`;
  const subject = { ...service, metadata: { ...service.metadata, name } };
  const permission = mockApis.permission({
    authorize: req =>
      (req.permission.name === serviceDecommissionPermission.name &&
        opts.allowed) ||
      (req.permission.name === serviceUpgradePermission.name && opts.upgrade)
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
  });
  renderInTestApp(
    <EntityProvider entity={subject}>
      <LifecycleCard />
    </EntityProvider>,
    {
      apis: [
        permission,
        catalogApiMock({
          entities: opts.templates ?? [
            decommissionTemplate,
            upgradeTemplate,
            otherTemplate,
          ],
        }),
      ],
    },
  );
  return { name };
}

describe('LifecycleCard', () => {
  it('offers Decommission to a user the policy allows, opening the annotated template with the name filled in', async () => {
    const { name } = render({ allowed: true });
    const card = await screen.findByTestId('lifecycle-card');
    const button = await within(card).findByRole('button', {
      name: 'Decommission',
    });
    const href = new URL(button.getAttribute('href')!, 'http://app.test');
    expect(href.pathname).toBe('/create/templates/platform/retire-it');
    expect(JSON.parse(href.searchParams.get('formData')!)).toEqual({ name });
  });

  it('does not offer it to anyone else, and says who may', async () => {
    const { name } = render({ allowed: false });
    const card = await screen.findByTestId('lifecycle-card');
    expect(
      await within(card).findByText(
        `Only the owners of ${name} (group:default/team-payments) and platform admins can decommission it.`,
      ),
    ).toBeInTheDocument();
    expect(
      within(card).queryByRole('button', { name: 'Decommission' }),
    ).not.toBeInTheDocument();
  });

  it('offers Upgrade to a user the policy allows, opening the upgrade template for this one service', async () => {
    const { name } = render({ allowed: false, upgrade: true });
    const card = await screen.findByTestId('lifecycle-card');
    const button = await within(card).findByRole('button', { name: 'Upgrade' });
    const href = new URL(button.getAttribute('href')!, 'http://app.test');
    expect(href.pathname).toBe('/create/templates/default/upgrade-services');
    expect(JSON.parse(href.searchParams.get('formData')!)).toEqual({
      scope: 'one',
      name,
    });
    // Each action asks the policy for its own permission.
    expect(
      within(card).queryByRole('button', { name: 'Decommission' }),
    ).not.toBeInTheDocument();
  });

  it('does not offer Upgrade to anyone else, and says who may', async () => {
    const { name } = render({ allowed: true, upgrade: false });
    const card = await screen.findByTestId('lifecycle-card');
    expect(
      await within(card).findByText(
        `Only the owners of ${name} (group:default/team-payments) and platform admins can upgrade it.`,
      ),
    ).toBeInTheDocument();
    expect(
      within(card).queryByRole('button', { name: 'Upgrade' }),
    ).not.toBeInTheDocument();
  });

  it('says so when no decommission template is registered', async () => {
    render({ allowed: true, templates: [otherTemplate] });
    const card = await screen.findByTestId('lifecycle-card');
    expect(
      await within(card).findByText(
        'No decommission template is registered in the catalog.',
      ),
    ).toBeInTheDocument();
  });

  it('is shown only for golden-path services (entities with the run marker)', () => {
    expect(isGoldenPathService(service)).toBe(true);
    expect(
      isGoldenPathService({
        ...service,
        metadata: { name: 'example-website' },
      }),
    ).toBe(false);
  });
});
