import type { GoldenPathSettings } from '../config';
import { KubernetesClient, KubernetesClientOptions } from './KubernetesClient';
import type { KubernetesApi } from './types';

/**
 * A {@link KubernetesApi} that builds its KubernetesClient (from settings
 * already read and checked) on the first call, which is when
 * @kubernetes/client-node is loaded (see KubernetesClient.ts). A failed
 * build is not kept: the next call tries again.
 */
export function lazyKubernetesClient(
  settings: GoldenPathSettings['kubernetes'],
  options: Omit<KubernetesClientOptions, 'kc'> = {},
): KubernetesApi {
  let client: KubernetesClient | undefined;
  const get = () => (client ??= KubernetesClient.fromSettings(settings, options));
  return {
    apply: async objects => get().apply(objects),
    createNamespace: async namespace => get().createNamespace(namespace),
    delete: async objects => get().delete(objects),
    namespaceExists: async name => get().namespaceExists(name),
    namespaceLabels: async name => get().namespaceLabels(name),
    findIngressesClaimingHost: async host => get().findIngressesClaimingHost(host),
  };
}
