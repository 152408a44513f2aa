import { ResponseError } from '@backstage/errors';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
} from '@backstage/frontend-plugin-api';
import { useCallback } from 'react';
import { ArgoCdApplicationStatus, LatestPipeline } from '@internal/plugin-golden-path-common';

/** The backend plugin's id, as discovery knows it. */
export const BACKEND_PLUGIN_ID = 'golden-path';

/**
 * Reads from the golden-path backend with the user's Backstage token (added
 * by the fetch API); the ArgoCD and GitLab tokens never reach the browser.
 * Each call resolves to undefined when the backend answers 404.
 */
export function useGoldenPathApi() {
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);

  const getJson = useCallback(
    async <T>(path: string): Promise<T | undefined> => {
      const baseUrl = await discoveryApi.getBaseUrl(BACKEND_PLUGIN_ID);
      const response = await fetchApi.fetch(`${baseUrl}${path}`);
      if (response.status === 404) return undefined;
      if (!response.ok) throw await ResponseError.fromResponse(response);
      return (await response.json()) as T;
    },
    [discoveryApi, fetchApi],
  );

  const getArgoCdApplication = useCallback(
    (name: string) =>
      getJson<ArgoCdApplicationStatus>(
        `/argocd/applications/${encodeURIComponent(name)}`,
      ),
    [getJson],
  );

  const getLatestPipeline = useCallback(
    (project: string) =>
      getJson<LatestPipeline>(
        `/gitlab/pipelines/latest?project=${encodeURIComponent(project)}`,
      ),
    [getJson],
  );

  return { getArgoCdApplication, getLatestPipeline };
}
