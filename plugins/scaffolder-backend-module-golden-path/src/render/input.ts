import { InputError } from '@backstage/errors';
import { serviceNameProblem } from '@internal/plugin-golden-path-common';
import { requireDatabaseSettings } from './database';
import { PlatformSettings, ServiceRequest } from './types';

/** Port the app listens on when the form leaves it empty. */
export const DEFAULT_PORT = 3000;
/**
 * Lowest accepted container port. The container runs as a non-root user
 * with every capability dropped, so it cannot bind privileged ports.
 */
export const PORT_MIN = 1024;
/** Highest accepted container port. */
export const PORT_MAX = 65535;
/** Replica count when the form leaves it empty. */
export const DEFAULT_REPLICAS = 2;
/** Lowest accepted replica count. */
export const REPLICAS_MIN = 1;
/** Highest accepted replica count; more needs a conversation, not a form. */
export const REPLICAS_MAX = 10;

/**
 * A request as it arrives from the form or an action's input, before
 * validation: description, port and replica count may be missing (the form
 * defaults are applied here too, so a caller that forgets them still gets
 * the documented defaults).
 */
export interface ServiceInput {
  name: string;
  owner: string;
  description?: string;
  port?: number;
  replicas?: number;
  /** The template's runtime block (see runtime.ts); default: Node.js. */
  runtime?: unknown;
  /** The form's "needs a PostgreSQL database" (a boolean; default false). */
  database?: unknown;
}

/**
 * Returns why `name` may not be used on this platform even though it
 * satisfies the name rule, or undefined when it may be used. The app's
 * namespace is its name, so it must not be a namespace the platform runs in
 * (Kubernetes' own namespaces are refused by the name rule itself).
 */
export function reservedNameProblem(
  settings: PlatformSettings,
  name: string,
  field = 'name',
): string | undefined {
  const reserved = new Set([
    settings.argocdNamespace,
    settings.monitoringNamespace,
  ]);
  if (reserved.has(name)) {
    return `${field} "${name}" is reserved: it is the name of a platform namespace`;
  }
  // The service is served at <name>.<baseDomain> on the shared ALB.
  if ((settings.reservedHosts ?? []).includes(name)) {
    return `${field} "${name}" is reserved: ${name}.${settings.baseDomain} is a host the platform keeps on the shared load balancer`;
  }
  return undefined;
}

/**
 * Throws InputError unless `name` satisfies the service-name rule (the
 * message is exactly {@link serviceNameProblem}'s) and, when settings are
 * given, is not reserved on the platform.
 */
export function assertServiceName(
  name: unknown,
  settings?: PlatformSettings,
  field = 'name',
): asserts name is string {
  const problem = serviceNameProblem(name, field);
  if (problem) throw new InputError(problem);
  if (settings) {
    const reserved = reservedNameProblem(settings, name as string, field);
    if (reserved) throw new InputError(reserved);
  }
}

/**
 * Replaces lone UTF-16 surrogates with U+FFFD. They cannot be encoded as
 * UTF-8, so YAML and JSON consumers (kubectl, ArgoCD) would reject or mangle
 * the file; every other character is kept as typed.
 */
export function toWellFormed(text: string): string {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
}

function optionalText(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    throw new InputError(`${field} must be a string`);
  }
  return toWellFormed(value);
}

function integerInRange(
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  field: string,
): number {
  if (value === undefined || value === null) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < min ||
    value > max
  ) {
    throw new InputError(
      `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(
        value,
      )}`,
    );
  }
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new InputError(
      `${field} must be true or false, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Validates a request and applies the defaults. Throws InputError naming the
 * field for anything the render layer cannot turn into valid manifests.
 */
export function resolveServiceRequest(
  settings: PlatformSettings,
  request: ServiceInput,
): ServiceRequest {
  assertServiceName(request.name, settings, 'name');
  const database = optionalBoolean(request.database, 'database');
  // Refused here, before anything is created, when there is no server.
  if (database) requireDatabaseSettings(settings);
  return {
    name: request.name,
    owner: optionalText(request.owner, 'owner'),
    description: optionalText(request.description, 'description'),
    port: integerInRange(
      request.port,
      DEFAULT_PORT,
      PORT_MIN,
      PORT_MAX,
      'port',
    ),
    replicas: integerInRange(
      request.replicas,
      DEFAULT_REPLICAS,
      REPLICAS_MIN,
      REPLICAS_MAX,
      'replicas',
    ),
    // Only when asked: requests recorded without the option read the same.
    ...(database ? { database: true } : {}),
  };
}

/**
 * The OCI tag grammar. Anything else would either be rejected by the
 * registry or break the `image:` line that CI rewrites with sed.
 */
export const IMAGE_TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';

/** Throws InputError unless `tag` is a valid image tag. */
export function assertImageTag(
  tag: unknown,
  field = 'imageTag',
): asserts tag is string {
  if (typeof tag !== 'string' || !new RegExp(IMAGE_TAG_PATTERN).test(tag)) {
    throw new InputError(
      `${field} ${JSON.stringify(
        tag,
      )} is not a valid image tag: use 1-128 characters of A-Z, a-z, 0-9, "_", "." and "-", not starting with "." or "-"`,
    );
  }
}
