/**
 * A model of how ArgoCD decides whether an AppProject admits a source
 * repository, a destination and a resource kind (AppProject
 * IsSourcePermitted / IsDestinationPermitted / IsGroupKindPermitted in
 * argo-cd's pkg/apis/application/v1alpha1). Patterns are globs (`*`, `?`,
 * `[...]`, `{a,b}`), a leading `!` denies, and repository URLs are compared
 * after normalisation (lowercase, no `.git`, no trailing slash).
 *
 * Test-only module: never import it from production code.
 */

/** The parts of an AppProject spec this model reads. */
export interface AppProjectSpec {
  sourceRepos?: string[];
  destinations?: Array<{ server?: string; name?: string; namespace?: string }>;
  clusterResourceWhitelist?: Array<{ group: string; kind: string }>;
  clusterResourceBlacklist?: Array<{ group: string; kind: string }>;
  namespaceResourceWhitelist?: Array<{ group: string; kind: string }>;
  namespaceResourceBlacklist?: Array<{ group: string; kind: string }>;
}

/** Characters that make a string a glob rather than a literal. */
export const GLOB_METACHARACTERS = /[*?[\]{}!]/;

/**
 * Translates a glob into a RegExp. With `separator`, `*` stops at it and
 * `**` crosses it (as gobwas/glob does for repository URLs).
 */
export function globToRegExp(pattern: string, separator?: string): RegExp {
  let out = '';
  const any = separator ? `[^${separator.replace(/[\\\]^-]/g, '\\$&')}]` : '.';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*';
        i++;
      } else {
        out += `${any}*`;
      }
    } else if (c === '?') {
      out += any;
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i + 1);
      if (end < 0) {
        out += '\\{';
      } else {
        const alternatives = pattern
          .slice(i + 1, end)
          .split(',')
          .map(a => a.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
        out += `(?:${alternatives.join('|')})`;
        i = end;
      }
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** ArgoCD's globMatch with negation: returns [matched, isDenyPattern]. */
function globMatch(
  pattern: string,
  value: string,
  separator?: string,
): [boolean, boolean] {
  const deny = pattern.startsWith('!');
  // ArgoCD short-circuits a bare `*`: it matches across separators too.
  if (!deny && pattern === '*') return [true, false];
  const body = deny ? pattern.slice(1) : pattern;
  const matched = globToRegExp(body, separator).test(value);
  return deny ? [!matched, true] : [matched, false];
}

/** git.NormalizeGitURL, reduced to what matters for https URLs. */
export function normalizeGitUrl(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/** Whether the project lets an Application use `repoUrl` as its source. */
export function admitsSource(spec: AppProjectSpec, repoUrl: string): boolean {
  const source = normalizeGitUrl(repoUrl);
  let anyMatched = false;
  for (const pattern of spec.sourceRepos ?? []) {
    const deny = pattern.startsWith('!');
    const normalised = deny
      ? `!${normalizeGitUrl(pattern.slice(1))}`
      : normalizeGitUrl(pattern);
    const [matched, isDeny] = globMatch(normalised, source, '/');
    if (isDeny && !matched) return false;
    if (matched && !isDeny) anyMatched = true;
  }
  return anyMatched;
}

/** Whether the project lets an Application deploy to `server`/`namespace`. */
export function admitsDestination(
  spec: AppProjectSpec,
  destination: { server: string; namespace: string },
): boolean {
  let anyMatched = false;
  for (const item of spec.destinations ?? []) {
    const [serverMatched, serverDeny] = item.server
      ? globMatch(item.server, destination.server)
      : [false, false];
    const [namespaceMatched, namespaceDeny] = globMatch(
      item.namespace ?? '',
      destination.namespace,
    );
    if ((serverDeny && !serverMatched) || (namespaceDeny && !namespaceMatched))
      return false;
    if (serverMatched && namespaceMatched && !serverDeny && !namespaceDeny)
      anyMatched = true;
  }
  return anyMatched;
}

function kindListed(
  list: Array<{ group: string; kind: string }> | undefined,
  group: string,
  kind: string,
): boolean {
  return (list ?? []).some(
    entry =>
      globToRegExp(entry.group).test(group) &&
      globToRegExp(entry.kind).test(kind),
  );
}

/**
 * Whether the project lets an Application manage a resource. Cluster-scoped
 * kinds need the cluster whitelist (empty means none); namespaced kinds need
 * the namespace whitelist when it is non-empty. A Namespace object is also
 * checked against the destinations, with its own name as the namespace.
 */
export function admitsResource(
  spec: AppProjectSpec,
  resource: {
    group: string;
    kind: string;
    namespaced: boolean;
    name: string;
    server: string;
  },
): boolean {
  const { group, kind } = resource;
  if (!resource.namespaced) {
    if (!kindListed(spec.clusterResourceWhitelist, group, kind)) return false;
    if (kindListed(spec.clusterResourceBlacklist, group, kind)) return false;
    if (group === '' && kind === 'Namespace') {
      return admitsDestination(spec, {
        server: resource.server,
        namespace: resource.name,
      });
    }
    return true;
  }
  const whitelist = spec.namespaceResourceWhitelist ?? [];
  if (whitelist.length > 0 && !kindListed(whitelist, group, kind)) return false;
  return !kindListed(spec.namespaceResourceBlacklist, group, kind);
}
