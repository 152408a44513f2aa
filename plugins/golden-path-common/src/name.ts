/**
 * The one service-name rule, used by the Create form, the actions, the render
 * layer and the sandbox. A service name becomes the name of many things in
 * many systems, so the rule is the intersection of what every one of them
 * accepts for every name we derive from it (see {@link SERVICE_NAME_TARGETS}):
 *
 * - one lowercase letter first: a Kubernetes Service name is a DNS-1035
 *   label, which may not start with a digit;
 * - then letters and digits, with single `-` between them: ECR repository
 *   names allow no two separators in a row (and DNS reserves `--` at
 *   positions 3-4 for IDNA), and a DNS label may not end with `-`;
 * - at most {@link SERVICE_NAME_MAX_LENGTH} characters: the tightest limit
 *   minus the affix we add (Grafana's dashboard uid, 40);
 * - none of the names GitLab, Kubernetes, ArgoCD or PostgreSQL reserve
 *   ({@link RESERVED_SERVICE_NAMES}, {@link RESERVED_SERVICE_NAME_PREFIXES}).
 *
 * Platform-specific reservations (the namespaces ArgoCD and Prometheus run in)
 * depend on settings and are checked where settings are known.
 */

/** One derived name and the published limit of the system that holds it. */
export interface NameTarget {
  /** The system and the kind of object, e.g. `IAM role`. */
  what: string;
  /** The derived name, from the service name. */
  derive: (name: string) => string;
  /** The system's maximum length for that name. */
  maxLength: number;
}

/**
 * Every name derived from a service name, with the length limit its system
 * publishes. {@link SERVICE_NAME_MAX_LENGTH} is computed from this table; the
 * character rules are the intersection written out above (and property-tested
 * against each system's own published rule).
 */
export const SERVICE_NAME_TARGETS: readonly NameTarget[] = [
  { what: 'GitLab app project path', derive: n => n, maxLength: 255 },
  { what: 'GitLab GitOps project path', derive: n => `${n}-gitops`, maxLength: 255 },
  { what: 'ECR repository', derive: n => n, maxLength: 256 },
  { what: 'IAM policy', derive: n => `idp-${n}-ecr-push-pull`, maxLength: 128 },
  { what: 'IAM role', derive: n => `idp-${n}-ci`, maxLength: 64 },
  { what: 'IAM user', derive: n => `idp-${n}-ci`, maxLength: 64 },
  { what: 'Kubernetes namespace (DNS-1123 label)', derive: n => n, maxLength: 63 },
  { what: 'Kubernetes Service (DNS-1035 label)', derive: n => n, maxLength: 63 },
  { what: 'Kubernetes label value', derive: n => n, maxLength: 63 },
  { what: 'host name label', derive: n => n, maxLength: 63 },
  { what: 'ArgoCD project and application', derive: n => n, maxLength: 253 },
  { what: 'PostgreSQL database and role', derive: n => n.replace(/-/g, '_'), maxLength: 63 },
  { what: 'secret path', derive: n => `idp/${n}`, maxLength: 512 },
  { what: 'Grafana dashboard uid', derive: n => n, maxLength: 40 },
];

/** Shortest accepted name: two characters are too easy to take by accident. */
export const SERVICE_NAME_MIN_LENGTH = 3;

/** Longest accepted name: the tightest target limit minus its affix. */
export const SERVICE_NAME_MAX_LENGTH = Math.min(
  ...SERVICE_NAME_TARGETS.map(t => t.maxLength - (t.derive('').length)),
);

/**
 * Names that some target system reserves, as whole names:
 * GitLab's reserved project names (docs: "Reserved project and group
 * names"), Kubernetes' system namespaces, and ArgoCD's `default` project.
 */
export const RESERVED_SERVICE_NAMES: readonly string[] = [
  // GitLab reserves these as project paths (routes under a project).
  'badges',
  'blame',
  'blob',
  'builds',
  'commits',
  'create',
  'edit',
  'files',
  'new',
  'preview',
  'raw',
  'refs',
  'tree',
  'update',
  'upload',
  'wikis',
  // Kubernetes' own namespaces, and ArgoCD's built-in project.
  'default',
];

/**
 * Prefixes that some target system reserves: `kube-` (Kubernetes system
 * namespaces) and `pg-` (the database role would be `pg_…`, which
 * PostgreSQL reserves for its own roles).
 */
export const RESERVED_SERVICE_NAME_PREFIXES: readonly string[] = ['kube-', 'pg-'];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The rule as one regular expression, shown in the form (template.yaml
 * `pattern`) and checked in code. A test proves every template uses this
 * exact string.
 */
export const SERVICE_NAME_PATTERN =
  `^(?!(?:${RESERVED_SERVICE_NAMES.map(escape).join('|')})$)` +
  `(?!${RESERVED_SERVICE_NAME_PREFIXES.map(escape).join('|')})` +
  `(?=.{${SERVICE_NAME_MIN_LENGTH},${SERVICE_NAME_MAX_LENGTH}}$)` +
  '[a-z][a-z0-9]*(?:-[a-z0-9]+)*$';

/** Human-readable statement of the rule, used in every error message. */
export const SERVICE_NAME_RULE = `${SERVICE_NAME_MIN_LENGTH}-${SERVICE_NAME_MAX_LENGTH} characters of a-z and 0-9 with single "-" between them, starting with a letter (not a reserved name such as "default", "new" or "kube-…")`;

const pattern = new RegExp(SERVICE_NAME_PATTERN);

/** True when `name` satisfies {@link SERVICE_NAME_PATTERN}. */
export function isValidServiceName(name: unknown): name is string {
  return typeof name === 'string' && pattern.test(name);
}

/**
 * Returns the problem with a proposed service name, or undefined when it is
 * valid. The message names the field, says what is wrong and states the rule.
 */
export function serviceNameProblem(
  name: unknown,
  field = 'name',
): string | undefined {
  if (isValidServiceName(name)) return undefined;
  if (typeof name !== 'string' || name.length === 0) {
    return `${field} is required: use ${SERVICE_NAME_RULE}`;
  }
  let what: string;
  const prefix = RESERVED_SERVICE_NAME_PREFIXES.find(p => name.startsWith(p));
  if (
    name.length < SERVICE_NAME_MIN_LENGTH ||
    name.length > SERVICE_NAME_MAX_LENGTH
  ) {
    what = `is ${name.length} characters long`;
  } else if (/[A-Z]/.test(name)) {
    what = 'contains uppercase letters';
  } else if (!/^[a-z]/.test(name)) {
    what = 'does not start with a letter';
  } else if (/[^a-z0-9-]/.test(name)) {
    what = 'contains characters other than a-z, 0-9 and "-"';
  } else if (name.endsWith('-')) {
    what = 'ends with "-"';
  } else if (name.includes('--')) {
    what = 'contains "--" (ECR repository names allow no two separators in a row)';
  } else if (RESERVED_SERVICE_NAMES.includes(name)) {
    what = 'is reserved by GitLab, Kubernetes or ArgoCD';
  } else if (prefix) {
    what = `starts with "${prefix}", which ${
      prefix === 'kube-' ? 'Kubernetes' : 'PostgreSQL'
    } reserves`;
  } else {
    what = 'does not match the rule';
  }
  return `${field} "${name}" ${what}; use ${SERVICE_NAME_RULE}`;
}

/**
 * Makes a repository URL end in exactly one `.git`, without trailing
 * slashes. ArgoCD compares `sourceRepos` with the Application's `repoURL`
 * textually, so both must be spelled the same way.
 */
export function normaliseRepoUrl(url: string): string {
  let base = url.trim();
  for (;;) {
    if (base.endsWith('/')) base = base.slice(0, -1);
    else if (base.toLowerCase().endsWith('.git')) base = base.slice(0, -4);
    else break;
  }
  return `${base}.git`;
}
