/**
 * The one service-name rule, used by the template form, the actions and the
 * render layer. Every name derived from a service name must stay valid:
 *
 * - `<name>-gitops` (GitLab project path of the GitOps repository)
 * - namespace and ServiceAccount (DNS-1123 label, at most 63 characters)
 * - ECR repository (lowercase, at most 256)
 * - IAM policy and user names `idp-<name>-ecr-…` (at most 128 / 64)
 * - `<name>.<baseDomain>` (a DNS label, at most 63)
 *
 * The tightest bound is a DNS label (63) minus the longest suffix we add to
 * a name used as a label or Kubernetes object name (`-allow-from-monitoring`,
 * 22 characters), so names are at most 40 characters.
 */
export const SERVICE_NAME_MIN_LENGTH = 3;
export const SERVICE_NAME_MAX_LENGTH = 40;

/**
 * The pattern shown in the form (template.yaml `ui:` pattern) and checked in
 * code: a lowercase DNS-1123 label that starts with a letter, does not end
 * with a hyphen, and is 3 to 40 characters long. A test proves the template
 * uses this exact string.
 */
export const SERVICE_NAME_PATTERN = `^[a-z][-a-z0-9]{${SERVICE_NAME_MIN_LENGTH - 2},${SERVICE_NAME_MAX_LENGTH - 2}}[a-z0-9]$`;

/** Human-readable statement of the rule, used in every error message. */
export const SERVICE_NAME_RULE = `${SERVICE_NAME_MIN_LENGTH}-${SERVICE_NAME_MAX_LENGTH} characters of a-z, 0-9 and "-", starting with a letter and not ending with "-" (a lowercase DNS-1123 label)`;

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
  if (name.length < SERVICE_NAME_MIN_LENGTH || name.length > SERVICE_NAME_MAX_LENGTH) {
    what = `is ${name.length} characters long`;
  } else if (/[A-Z]/.test(name)) {
    what = 'contains uppercase letters';
  } else if (!/^[a-z]/.test(name)) {
    what = 'does not start with a letter';
  } else if (name.endsWith('-')) {
    what = 'ends with "-"';
  } else {
    what = 'contains characters other than a-z, 0-9 and "-"';
  }
  return `${field} "${name}" ${what}; use ${SERVICE_NAME_RULE}`;
}
