import { AuthService } from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { ConflictError, ForwardedError } from '@backstage/errors';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';

/** A registered location as the actions see it. */
export interface CatalogLocation {
  locationId: string;
  entityRefs: string[];
  /** Values of the `golden-path-idp/run` annotation of its entities. */
  markers: string[];
}

const entityRef = (e: { kind: string; metadata: { name: string; namespace?: string } }) =>
  `${e.kind.toLocaleLowerCase('en-US')}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`;

/** What the actions need from the software catalog. */
export interface CatalogApi {
  /** Entity refs of existing entities named `name` (any kind, default namespace). */
  findEntitiesNamed(name: string): Promise<string[]>;
  /** Whether the entity `ref` (e.g. `group:default/team-a`) exists. */
  entityExists(ref: string): Promise<boolean>;
  /**
   * Registers a catalog-info.yaml URL, as the platform: the golden path
   * registers only the repository it has just created (developers may not
   * register locations themselves).
   */
  register(target: string): Promise<{ locationId: string; entityRefs: string[] }>;
  /**
   * The location registered for `target`, its entities, and the run markers
   * those entities carry (once the catalog has processed them), if any.
   */
  findLocation(target: string): Promise<CatalogLocation | undefined>;
  /** Removes a location and the entities it produced. Missing = done. */
  unregister(locationId: string): Promise<void>;
}

/**
 * The catalog through Backstage's catalog service, with this module's own
 * service credentials. Whether the user may create the service at all is
 * decided before (the permission policy and the owner check).
 */
export class CatalogGateway implements CatalogApi {
  constructor(
    private readonly catalog: CatalogService,
    private readonly auth: AuthService,
  ) {}

  async findEntitiesNamed(name: string): Promise<string[]> {
    const credentials = await this.auth.getOwnServiceCredentials();
    try {
      const { items } = await this.catalog.getEntities(
        {
          filter: { 'metadata.name': name, 'metadata.namespace': 'default' },
          fields: ['kind', 'metadata.name', 'metadata.namespace'],
        },
        { credentials },
      );
      return items.map(entityRef);
    } catch (error) {
      throw new ForwardedError(`Catalog lookup of "${name}" failed`, error);
    }
  }

  async entityExists(ref: string): Promise<boolean> {
    const credentials = await this.auth.getOwnServiceCredentials();
    try {
      return !!(await this.catalog.getEntityByRef(ref, { credentials }));
    } catch (error) {
      throw new ForwardedError(`Catalog lookup of ${ref} failed`, error);
    }
  }

  async register(target: string) {
    const credentials = await this.auth.getOwnServiceCredentials();
    // A real registration only stores the location; reading and validating
    // the file happens later in the background. The dry run reads and
    // validates it now, so an unreadable or invalid catalog-info.yaml fails
    // this step (and rolls back) instead of leaving a service with no entry.
    try {
      await this.catalog.addLocation({ type: 'url', target, dryRun: true }, { credentials });
    } catch (error) {
      throw new ForwardedError(`The catalog could not read ${target}`, error);
    }
    try {
      const { location, entities } = await this.catalog.addLocation(
        { type: 'url', target },
        { credentials },
      );
      return {
        locationId: location.id,
        entityRefs: entities.map(entityRef),
      };
    } catch (error) {
      if ((error as Error)?.name === 'ConflictError') {
        throw new ConflictError(`${target} is already registered in the catalog`);
      }
      throw new ForwardedError(`Registering ${target} in the catalog failed`, error);
    }
  }

  async findLocation(target: string): Promise<CatalogLocation | undefined> {
    const credentials = await this.auth.getOwnServiceCredentials();
    const location = await this.catalog.getLocationByRef(`url:${target}`, {
      credentials,
    });
    if (!location) return undefined;
    const { items } = await this.catalog.getEntities(
      {
        filter: {
          'metadata.annotations.backstage.io/managed-by-origin-location': `url:${target}`,
        },
        fields: [
          'kind',
          'metadata.name',
          'metadata.namespace',
          `metadata.annotations.${RUN_MARKER_KEY}`,
        ],
      },
      { credentials },
    );
    return {
      locationId: location.id,
      entityRefs: items.map(entityRef),
      markers: items
        .map(e => e.metadata.annotations?.[RUN_MARKER_KEY])
        .filter((m): m is string => typeof m === 'string'),
    };
  }

  async unregister(locationId: string): Promise<void> {
    const credentials = await this.auth.getOwnServiceCredentials();
    const location = await this.catalog.getLocationById(locationId, { credentials });
    if (!location) return;
    await this.catalog.removeLocationById(locationId, { credentials });
  }
}
