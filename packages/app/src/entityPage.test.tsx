import fs from 'node:fs';
import path from 'node:path';
import { Entity } from '@backstage/catalog-model';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import apiDocsPlugin from '@backstage/plugin-api-docs/alpha';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import goldenPathPlugin from '@internal/plugin-golden-path';
import yaml from 'yaml';

/*
 * The entity page as app-config.yaml (local) and app-config.production.yaml
 * (the image) lay it out: the golden-path cards first, the stock relation
 * cards only when there is a relation to show. The filters are resolved by
 * the cards' own blueprint, as the app does at startup.
 */

// eslint-disable-next-line no-restricted-syntax
const root = path.resolve(__dirname, '../../..');

type ExtensionEntry =
  | string
  | Record<string, { config?: Record<string, unknown> } | boolean>;

function entityCards(
  file: string,
): Array<{ id: string; config?: Record<string, unknown> }> {
  const config = yaml.parse(fs.readFileSync(path.join(root, file), 'utf8'));
  return (config.app.extensions as ExtensionEntry[])
    .map(e =>
      typeof e === 'string'
        ? { id: e }
        : {
            id: Object.keys(e)[0],
            config: (
              Object.values(e)[0] as { config?: Record<string, unknown> }
            ).config,
          },
    )
    .filter(e => e.id.startsWith('entity-card:'));
}

const plugins = [catalogPlugin, apiDocsPlugin, goldenPathPlugin];

/** The app's filter for a card, from its blueprint with the configured config. */
function cardFilter(
  id: string,
  config?: Record<string, unknown>,
): (e: Entity) => boolean {
  const plugin = plugins.find(p => id.startsWith(`entity-card:${p.id}/`));
  if (!plugin) throw new Error(`no plugin for ${id}`);
  const extension = (plugin as any).getExtension(id);
  const tester = createExtensionTester(extension, { config });
  return tester.get(EntityCardBlueprint.dataRefs.filterFunction);
}

/** The card's layout type ('info': the side column). */
function cardType(id: string): string | undefined {
  const plugin = plugins.find(p => id.startsWith(`entity-card:${p.id}/`));
  if (!plugin) throw new Error(`no plugin for ${id}`);
  return createExtensionTester((plugin as any).getExtension(id)).get(
    EntityCardBlueprint.dataRefs.type,
  );
}

const component = (
  relations: Array<[string, string]>,
  annotations = {},
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'x', annotations },
  spec: {
    type: 'service',
    owner: 'group:default/team-payments',
    lifecycle: 'production',
  },
  relations: [['ownedBy', 'group:default/team-payments'], ...relations].map(
    ([type, targetRef]) => ({ type, targetRef }),
  ),
});

/** A golden-path service fresh from Create: an owner and nothing else. */
const fresh = component([], {
  'golden-path-idp/run': '0123456789abcdef0123456789abcdef',
});

const RELATION_CARDS: Record<string, Array<[string, string]>> = {
  'entity-card:api-docs/provided-apis': [
    ['providesApi', 'api:default/payments'],
  ],
  'entity-card:api-docs/consumed-apis': [['consumesApi', 'api:default/ledger']],
  'entity-card:catalog/depends-on-components': [
    ['dependsOn', 'component:default/ledger'],
  ],
  'entity-card:catalog/depends-on-resources': [
    ['dependsOn', 'resource:default/payments-db'],
  ],
  'entity-card:catalog/has-subcomponents': [
    ['hasPart', 'component:default/payments-worker'],
  ],
};

describe.each(['app-config.yaml', 'app-config.production.yaml'])(
  'the entity page of %s',
  file => {
    const cards = entityCards(file);
    const ids = cards.map(c => c.id);

    it('puts About with the Lifecycle card under it, then the status cards, before every other card', () => {
      expect(ids.slice(0, 4)).toEqual([
        'entity-card:catalog/about',
        'entity-card:golden-path/lifecycle',
        'entity-card:golden-path/argocd',
        'entity-card:golden-path/pipeline',
      ]);
      // About and Lifecycle share the side column; the status cards lead the main one.
      expect(ids.slice(0, 4).map(cardType)).toEqual([
        'info',
        'info',
        'content',
        'content',
      ]);
    });

    it('shows the lifecycle card only for golden-path services', () => {
      const lifecycle = cardFilter('entity-card:golden-path/lifecycle');
      expect(lifecycle(fresh)).toBe(true);
      expect(lifecycle(component([]))).toBe(false);
    });

    it.each(Object.entries(RELATION_CARDS))(
      'shows %s only when the entity has such a relation',
      (id, relations) => {
        const card = cards.find(c => c.id === id);
        expect(card).toBeDefined();
        const filter = cardFilter(id, card!.config);
        expect(filter(fresh)).toBe(false);
        expect(filter(component(relations))).toBe(true);
        // Another relation card's relation does not make this one show.
        const others = Object.entries(RELATION_CARDS)
          .filter(([other]) => other !== id)
          .flatMap(([, r]) => r)
          .filter(
            ([type, target]) =>
              !relations.some(
                ([t, r]) =>
                  t === type && r.split(':')[0] === target.split(':')[0],
              ),
          );
        expect(filter(component(others))).toBe(false);
        // Still only for components.
        expect(filter({ ...component(relations), kind: 'System' })).toBe(false);
      },
    );
  },
);

it('lays out the entity page the same way locally and in the image', () => {
  expect(entityCards('app-config.production.yaml')).toEqual(
    entityCards('app-config.yaml'),
  );
});
