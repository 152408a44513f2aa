import { ResponseError } from '@backstage/errors';
import {
  ApiBlueprint,
  DiscoveryApi,
  FetchApi,
  createApiRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  ArgoCdApplicationStatus,
  LatestPipeline,
  UpgradeStatus,
} from '@internal/plugin-golden-path-common';

/** The backend plugin's id, as discovery knows it. */
export const BACKEND_PLUGIN_ID = 'golden-path';

/**
 * What the entity page asks the golden-path backend, always about one
 * catalog entity: the backend reads the entity with the user's credentials
 * and takes the ArgoCD application and GitLab project from its annotations.
 * Each call resolves to undefined when there is nothing to show (404).
 */
export interface GoldenPathApi {
  getArgoCdApplication(entityRef: string): Promise<ArgoCdApplicationStatus | undefined>;
  getLatestPipeline(entityRef: string): Promise<LatestPipeline | undefined>;
  /** The render version and whether an upgrade is waiting (undefined: not a golden-path service's repository). */
  getUpgradeStatus(entityRef: string): Promise<UpgradeStatus | undefined>;
}

export const goldenPathApiRef = createApiRef<GoldenPathApi>({
  id: 'plugin.golden-path.api',
});

/** {@link GoldenPathApi} over HTTP, with the user's Backstage token (the fetch API adds it). */
export class GoldenPathClient implements GoldenPathApi {
  constructor(
    private readonly deps: { discoveryApi: DiscoveryApi; fetchApi: FetchApi },
  ) {}

  private async get<T>(path: string, entityRef: string): Promise<T | undefined> {
    const baseUrl = await this.deps.discoveryApi.getBaseUrl(BACKEND_PLUGIN_ID);
    const response = await this.deps.fetchApi.fetch(
      `${baseUrl}${path}?entityRef=${encodeURIComponent(entityRef)}`,
    );
    if (response.status === 404) return undefined;
    if (!response.ok) throw await ResponseError.fromResponse(response);
    return (await response.json()) as T;
  }

  getArgoCdApplication(entityRef: string) {
    return this.get<ArgoCdApplicationStatus>('/argocd/application', entityRef);
  }

  getLatestPipeline(entityRef: string) {
    return this.get<LatestPipeline>('/gitlab/pipelines/latest', entityRef);
  }

  getUpgradeStatus(entityRef: string) {
    return this.get<UpgradeStatus>('/upgrade', entityRef);
  }
}

/** `api:golden-path`: the client, for the cards. */
export const goldenPathApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: goldenPathApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: deps => new GoldenPathClient(deps),
    }),
});
