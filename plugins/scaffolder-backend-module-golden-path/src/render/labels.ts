/** Value of `app.kubernetes.io/managed-by` on everything we generate. */
export const MANAGED_BY = 'golden-path-idp';

/** Label that marks a namespace as an application namespace. */
export const ROLE_LABEL = 'idp-role';
/** Label that carries the sanitised owner (for selectors and cost reports). */
export const OWNER_LABEL = 'idp-owner';
/** Annotation that carries the owner entity ref exactly as entered. */
export const OWNER_ANNOTATION = 'golden-path-idp/owner';
/** Annotation that carries the description exactly as entered. */
export const DESCRIPTION_ANNOTATION = 'golden-path-idp/description';
/** Annotation ArgoCD orders a sync by. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/**
 * ArgoCD sync waves. Each wave must be healthy before the next starts, so
 * the namespace exists before anything in it, access rules and network
 * policies exist before a pod can run, and the ExternalSecret has produced
 * its Secret before the Deployment (which needs it via envFrom) is applied.
 */
export const SYNC_WAVES = {
  namespace: 0,
  access: 1,
  secrets: 2,
  workload: 3,
  observability: 4,
} as const;

/** The annotations that put an object into `wave`. Values must be strings. */
export function syncWave(
  wave: keyof typeof SYNC_WAVES,
): Record<string, string> {
  return { [SYNC_WAVE_ANNOTATION]: String(SYNC_WAVES[wave]) };
}

/** Kubernetes label value rule (at most 63 characters). */
export const LABEL_VALUE_PATTERN =
  '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
const LABEL_VALUE_MAX = 63;

/**
 * Turns any text into a valid label value: characters outside
 * `[a-z0-9._-]` become `-`, runs of `-` collapse, the ends are trimmed to
 * alphanumerics and the result is cut to 63 characters. Returns `fallback`
 * when nothing usable is left. Lowercased because entity refs are
 * case-insensitive, so `Team-A` and `team-a` are one owner.
 */
export function sanitizeLabelValue(text: string, fallback = 'unknown'): string {
  const trimEnds = (s: string) =>
    s.replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
  const cleaned = trimEnds(
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/-{2,}/g, '-'),
  );
  const value = trimEnds(cleaned.slice(0, LABEL_VALUE_MAX));
  return value === '' ? fallback : value;
}

/**
 * The owner label value: the name part of an entity ref
 * (`group:default/team-a` gives `team-a`), sanitised. The full ref goes into
 * {@link OWNER_ANNOTATION} unchanged.
 */
export function ownerLabelValue(owner: string): string {
  const afterKind = owner.includes(':')
    ? owner.slice(owner.indexOf(':') + 1)
    : owner;
  const name = afterKind.includes('/')
    ? afterKind.slice(afterKind.lastIndexOf('/') + 1)
    : afterKind;
  return sanitizeLabelValue(name);
}

/**
 * The labels Deployment, Service and NetworkPolicies select pods by. Kept
 * to the name only: the selector of a Deployment is immutable, and ArgoCD
 * (label tracking mode) overwrites `app.kubernetes.io/instance`, so that
 * label must never be part of a selector.
 */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name };
}

/** Labels on every object of a service. */
export function commonLabels(
  name: string,
  owner: string,
): Record<string, string> {
  return {
    ...selectorLabels(name),
    'app.kubernetes.io/managed-by': MANAGED_BY,
    // Lets the Backstage Kubernetes plugin find the objects of this component.
    'backstage.io/kubernetes-id': name,
    [OWNER_LABEL]: ownerLabelValue(owner),
  };
}

/** The owner and description, verbatim, where any characters are allowed. */
export function textAnnotations(
  owner: string,
  description: string,
): Record<string, string> {
  return { [OWNER_ANNOTATION]: owner, [DESCRIPTION_ANNOTATION]: description };
}
