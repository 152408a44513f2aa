import { InputError } from '@backstage/errors';

/**
 * What differs between golden paths' runtimes, declared by each template in
 * its provision step's `runtime:` input (templates/README.md), so adding a
 * language needs no TypeScript. Validated here with errors that name the
 * field and the fix.
 */
export interface RuntimeProfile {
  /** Label of the runtime, e.g. `nodejs`, `python`. */
  name: string;
  /** Path of the readiness probe and the load balancer health check. */
  healthPath: string;
  /** Path Prometheus scrapes. */
  metricsPath: string;
  /** Extra non-secret container environment. */
  env: Record<string, string>;
  resources: {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
  };
  probes: {
    readiness: { initialDelaySeconds: number; periodSeconds: number };
    liveness: { initialDelaySeconds: number; periodSeconds: number };
  };
}

/**
 * What a step without `runtime:` gets: nothing specific to any language
 * (templates declare their own; see templates/README.md).
 */
export const DEFAULT_RUNTIME: RuntimeProfile = {
  name: 'service',
  healthPath: '/health',
  metricsPath: '/metrics',
  env: {},
  resources: {
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  },
  probes: {
    readiness: { initialDelaySeconds: 5, periodSeconds: 10 },
    liveness: { initialDelaySeconds: 15, periodSeconds: 20 },
  },
};

/** Environment names the platform sets itself (and so refuses from templates). */
export const PLATFORM_ENV = ['PORT', 'DATABASE_URL'];

const CPU = /^(\d+m|\d+(\.\d{1,3})?)$/;
const MEMORY = /^\d+(Ki|Mi|Gi)$/;
const PATH = /^\/[A-Za-z0-9._~\/-]*$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

type Problems = string[];

function text(
  value: unknown,
  field: string,
  rule: RegExp,
  hint: string,
  fallback: string,
  problems: Problems,
): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !rule.test(value)) {
    problems.push(`runtime.${field} ${JSON.stringify(value)} ${hint}`);
    return fallback;
  }
  return value;
}

function seconds(
  value: unknown,
  field: string,
  fallback: number,
  problems: Problems,
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 600) {
    problems.push(
      `runtime.${field} ${JSON.stringify(value)} must be a whole number of seconds from 0 to 600`,
    );
    return fallback;
  }
  return value;
}

function object(value: unknown, field: string, problems: Problems): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`runtime.${field} must be a mapping`);
    return {};
  }
  return value as Record<string, unknown>;
}

function unknownKeys(
  value: Record<string, unknown>,
  field: string,
  known: string[],
  problems: Problems,
) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      problems.push(
        `${field}.${key} is not a runtime setting; use one of ${known.join(', ')}`,
      );
    }
  }
}

/** Parses CPU quantities (`500m`, `1`, `0.5`) to millicores. */
function millicores(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
}
/** Parses memory quantities (`128Mi`) to KiB. */
function kibibytes(q: string): number {
  const unit = { Ki: 1, Mi: 1024, Gi: 1024 * 1024 }[q.slice(-2)] ?? 1;
  return Number(q.slice(0, -2)) * unit;
}

/**
 * Validates a template's `runtime:` block and fills in defaults. Throws one
 * InputError listing every problem, each naming its field.
 */
export function resolveRuntime(input: unknown): RuntimeProfile {
  const problems: Problems = [];
  const raw = object(input, '', problems);
  unknownKeys(
    raw,
    'runtime',
    ['name', 'healthPath', 'metricsPath', 'env', 'resources', 'probes'],
    problems,
  );
  const d = DEFAULT_RUNTIME;
  const name = text(raw.name, 'name', /^[a-z][a-z0-9-]{0,30}$/, 'must be a lowercase word such as nodejs or python', d.name, problems);
  const pathHint = 'must be an absolute URL path such as /health';
  const healthPath = text(raw.healthPath, 'healthPath', PATH, pathHint, d.healthPath, problems);
  const metricsPath = text(raw.metricsPath, 'metricsPath', PATH, pathHint, d.metricsPath, problems);

  const envIn = raw.env === undefined ? d.env : object(raw.env, 'env', problems);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(envIn)) {
    if (!ENV_NAME.test(key)) {
      problems.push(`runtime.env.${key} is not a valid variable name; use A-Z, 0-9 and _`);
    } else if (PLATFORM_ENV.includes(key)) {
      problems.push(`runtime.env.${key} is set by the platform; remove it from the template`);
    } else if (typeof value !== 'string') {
      problems.push(`runtime.env.${key} must be a string; quote it in YAML, e.g. '1'`);
    } else {
      env[key] = value;
    }
  }

  const res = object(raw.resources, 'resources', problems);
  unknownKeys(res, 'runtime.resources', ['requests', 'limits'], problems);
  const quantities = (which: 'requests' | 'limits') => {
    const q = object(res[which], `resources.${which}`, problems);
    unknownKeys(q, `runtime.resources.${which}`, ['cpu', 'memory'], problems);
    return {
      cpu: text(q.cpu, `resources.${which}.cpu`, CPU, 'must be a CPU quantity such as 100m or 0.5', d.resources[which].cpu, problems),
      memory: text(q.memory, `resources.${which}.memory`, MEMORY, 'must be a memory quantity such as 128Mi or 1Gi', d.resources[which].memory, problems),
    };
  };
  const resources = { requests: quantities('requests'), limits: quantities('limits') };
  if (millicores(resources.requests.cpu) > millicores(resources.limits.cpu)) {
    problems.push('runtime.resources.requests.cpu is more than runtime.resources.limits.cpu');
  }
  if (kibibytes(resources.requests.memory) > kibibytes(resources.limits.memory)) {
    problems.push('runtime.resources.requests.memory is more than runtime.resources.limits.memory');
  }

  const pr = object(raw.probes, 'probes', problems);
  unknownKeys(pr, 'runtime.probes', ['readiness', 'liveness'], problems);
  const probe = (which: 'readiness' | 'liveness') => {
    const p = object(pr[which], `probes.${which}`, problems);
    unknownKeys(p, `runtime.probes.${which}`, ['initialDelaySeconds', 'periodSeconds'], problems);
    return {
      initialDelaySeconds: seconds(p.initialDelaySeconds, `probes.${which}.initialDelaySeconds`, d.probes[which].initialDelaySeconds, problems),
      periodSeconds: seconds(p.periodSeconds, `probes.${which}.periodSeconds`, d.probes[which].periodSeconds, problems),
    };
  };
  const probes = { readiness: probe('readiness'), liveness: probe('liveness') };
  if (probes.readiness.periodSeconds < 1 || probes.liveness.periodSeconds < 1) {
    problems.push('runtime.probes.*.periodSeconds must be at least 1');
  }

  if (problems.length) {
    throw new InputError(
      `The template's runtime block is invalid: ${problems.join('; ')}`,
    );
  }
  return { name, healthPath, metricsPath, env, resources, probes };
}
