import { AuthService } from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { ForwardedError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { UpgradeTarget } from './ServiceUpgrader';

type EntityLike = {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
};

function toTarget(entity: EntityLike): UpgradeTarget | undefined {
  const marker = entity.metadata.annotations?.[RUN_MARKER_KEY];
  if (!marker) return undefined;
  return {
    name: entity.metadata.name,
    entityRef: stringifyEntityRef({
      kind: entity.kind,
      namespace: entity.metadata.namespace,
      name: entity.metadata.name,
    }),
    marker,
  };
}

const FIELDS = [
  'kind',
  'metadata.name',
  'metadata.namespace',
  `metadata.annotations.${RUN_MARKER_KEY}`,
];

/**
 * The golden-path services the catalog knows: Components in the default
 * namespace whose entity carries the run marker (Create stamps it on
 * catalog-info.yaml). Read with this module's own credentials; who may
 * upgrade which of them is decided by {@link UpgradeAccess}.
 */
export class GoldenPathServices {
  constructor(
    private readonly catalog: CatalogService,
    private readonly auth: AuthService,
  ) {}

  /** Every golden-path service, sorted by name. */
  async list(): Promise<UpgradeTarget[]> {
    const credentials = await this.auth.getOwnServiceCredentials();
    try {
      const { items } = await this.catalog.getEntities(
        {
          filter: {
            kind: 'component',
            [`metadata.annotations.${RUN_MARKER_KEY}`]: CATALOG_FILTER_EXISTS,
          },
          fields: FIELDS,
        },
        { credentials },
      );
      return items
        .map(e => toTarget(e as EntityLike))
        .filter((t): t is UpgradeTarget => !!t)
        .sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      throw new ForwardedError('Listing the golden-path services in the catalog failed', error);
    }
  }

  /** The service `name` (`component:default/<name>`), or undefined when it is not a golden-path service. */
  async get(name: string): Promise<UpgradeTarget | undefined> {
    const credentials = await this.auth.getOwnServiceCredentials();
    try {
      const entity = await this.catalog.getEntityByRef(
        { kind: 'component', namespace: 'default', name },
        { credentials },
      );
      return entity ? toTarget(entity) : undefined;
    } catch (error) {
      throw new ForwardedError(`Catalog lookup of component:default/${name} failed`, error);
    }
  }
}
