/**
 * The resource types the Kubernetes fake serves, and its discovery
 * documents (what `kubectl api-resources` and client-node's
 * KubernetesObjectApi read to turn apiVersion + kind into a URL).
 */

/** One served resource type. */
export interface ResourceType {
  /** API group; '' for the core group (`/api/v1`). */
  group: string;
  version: string;
  /** Plural, lower-case: the URL segment (`networkpolicies`). */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Whether the API server keeps `metadata.generation` for it. */
  hasGeneration?: boolean;
}

/** The verbs the fake implements, advertised in discovery. */
export const SERVED_VERBS = ['create', 'delete', 'get', 'list', 'patch'];

/** Every resource type the fake serves. */
export const KUBERNETES_RESOURCES: readonly ResourceType[] = [
  { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
  { group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] },
  { group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'] },
  { group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'resourcequotas', singular: 'resourcequota', kind: 'ResourceQuota', namespaced: true, shortNames: ['quota'] },
  { group: '', version: 'v1', resource: 'limitranges', singular: 'limitrange', kind: 'LimitRange', namespaced: true, shortNames: ['limits'] },
  { group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], hasGeneration: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', singular: 'networkpolicy', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'], hasGeneration: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], hasGeneration: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', singular: 'role', kind: 'Role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding', namespaced: true },
  { group: 'external-secrets.io', version: 'v1', resource: 'secretstores', singular: 'secretstore', kind: 'SecretStore', namespaced: true, shortNames: ['ss'], hasGeneration: true },
];

/** `v1` or `apps/v1`. */
export function groupVersion(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** `namespaces`, `deployments.apps`: how error messages name a resource. */
export function qualifiedResource(type: ResourceType): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

/** The API groups (other than core) and their versions. */
function apiGroups(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of KUBERNETES_RESOURCES) {
    if (!t.group) continue;
    const versions = groups.get(t.group) ?? [];
    if (!versions.includes(t.version)) versions.push(t.version);
    groups.set(t.group, versions);
  }
  return groups;
}

function apiGroup(name: string, versions: string[]) {
  const entries = versions.map(version => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

/** `GET /version`. */
export const VERSION_INFO = {
  major: '1',
  minor: '34',
  gitVersion: 'v1.34.0-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/**
 * The discovery document at `path` (`/api`, `/apis`, `/api/v1`,
 * `/apis/<group>`, `/apis/<group>/<version>`), or undefined.
 */
export function discoveryDocument(path: string, serverAddress: string): object | undefined {
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...apiGroups()].map(([name, versions]) => apiGroup(name, versions)),
    };
  }
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group) {
    const versions = apiGroups().get(group[1]);
    return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group[1], versions) } : undefined;
  }
  const gv = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
  if (gv) {
    const resources = KUBERNETES_RESOURCES.filter(t => groupVersion(t) === gv[1]);
    if (resources.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv[1],
      resources: resources.map(t => ({
        name: t.resource,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: SERVED_VERBS,
        ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      })),
    };
  }
  return undefined;
}

/** What a request path addresses. */
export type ParsedPath =
  | { type: 'discovery' }
  | {
      type: 'resource';
      resourceType: ResourceType;
      /** For namespaced types: the namespace in the URL (undefined = all namespaces, lists only). */
      namespace?: string;
      /** undefined = the collection. */
      name?: string;
    }
  | { type: 'unknown' };

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Parses a Kubernetes API path. */
export function parseKubernetesPath(rawPath: string): ParsedPath {
  const path = rawPath.replace(/\/+$/, '') || '/';
  if (path === '/version' || path === '/api' || path === '/apis' || /^\/apis\/[^/]+$/.test(path)) {
    return { type: 'discovery' };
  }
  if (path === '/api/v1' || /^\/apis\/[^/]+\/[^/]+$/.test(path)) return { type: 'discovery' };
  const match = /^\/api\/v1\/(.+)$/.exec(path) ?? /^\/apis\/[^/]+\/[^/]+\/(.+)$/.exec(path);
  if (!match) return { type: 'unknown' };
  const gv = path.startsWith('/api/') ? 'v1' : path.split('/').slice(2, 4).join('/');
  const segments = match[1].split('/').map(decode);
  if (segments.some(s => s === undefined || s === '')) return { type: 'unknown' };
  const find = (resource: string | undefined) =>
    KUBERNETES_RESOURCES.find(t => groupVersion(t) === gv && t.resource === resource);
  const [a, b, c, d] = segments as string[];
  if (segments.length === 1 || segments.length === 2) {
    const t = find(a);
    if (!t) return { type: 'unknown' };
    // A namespaced type's object is only reachable under /namespaces/<ns>/.
    if (segments.length === 2 && t.namespaced) return { type: 'unknown' };
    return { type: 'resource', resourceType: t, name: b };
  }
  if (a === 'namespaces' && (segments.length === 3 || segments.length === 4)) {
    const t = find(c);
    if (!t || !t.namespaced) return { type: 'unknown' };
    return { type: 'resource', resourceType: t, namespace: b, name: d };
  }
  return { type: 'unknown' };
}
