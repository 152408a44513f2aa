/**
 * ArgoCD REST API client (projects and applications), as described by
 * ArgoCD's swagger.json (`/api/v1/...`, bearer token).
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { normaliseRepoUrl } from '@internal/plugin-golden-path-common';
import { GoldenPathSettings, readArgoCdSettings } from '../config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { RetryError, RetryPolicy, withRetry } from './retry';
import { ArgoCdApi, EnsureOutcome } from './types';

/** Retry policy used when config sets none. */
export const DEFAULT_ARGOCD_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxTotalMs: 120_000,
};

/** Per-request timeout used when config sets none. */
export const DEFAULT_ARGOCD_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Messages of ArgoCD's transient answers while GitLab and ArgoCD catch up
 * (a repository just created, credentials not yet synced, repo-server busy).
 * Retried whatever the HTTP status.
 */
export const ARGOCD_TRANSIENT_MESSAGE =
  /repository not found|unable to resolve|authentication required|connection refused|i\/o timeout/i;

/** Largest part of an error body kept in messages. */
const MAX_DETAIL_LENGTH = 1000;

export interface ArgoCdClientOptions {
  /** Base URL of ArgoCD, e.g. https://argocd.example.com (paths start with /api/v1). */
  baseUrl: string;
  /** API token, sent as a bearer token. Never appears in errors or logs. */
  token: string;
  /** Default: the global fetch, looked up at call time. */
  fetch?: typeof fetch;
  /** Overrides of {@link DEFAULT_ARGOCD_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /** Timeout of each HTTP request. Default {@link DEFAULT_ARGOCD_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Injected for tests; default real timers. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Retries are logged here (warn). */
  logger?: LoggerService;
}

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A failed request: an HTTP status (undefined for network errors and
 * timeouts) and the message ArgoCD gave. Only lives between the request and
 * the error mapping; never leaves the client.
 */
class ArgoCdRequestFailure extends Error {
  constructor(
    readonly status: number | undefined,
    detail: string,
    cause?: unknown,
  ) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = 'ArgoCdRequestFailure';
  }
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's omitempty drops these, so a missing field equals them. */
function isZeroValue(value: unknown): boolean {
  if (
    value === undefined ||
    value === null ||
    value === false ||
    value === 0 ||
    value === ''
  ) {
    return true;
  }
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainObject(value)) return Object.values(value).every(isZeroValue);
  return false;
}

/**
 * Paths at which `actual` differs from `desired`, looking only at what
 * `desired` sets: ArgoCD adds defaults and status, which do not count.
 * Arrays must have the same length and match element by element.
 */
function differences(
  desired: unknown,
  actual: unknown,
  path: string,
): string[] {
  if (actual === undefined || actual === null) {
    return isZeroValue(desired) ? [] : [path];
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length)
      return [path];
    return desired.flatMap((item, i) =>
      differences(item, actual[i], `${path}[${i}]`),
    );
  }
  if (isPlainObject(desired)) {
    if (!isPlainObject(actual)) return [path];
    return Object.entries(desired).flatMap(([key, value]) =>
      value === undefined
        ? []
        : differences(value, actual[key], `${path}.${key}`),
    );
  }
  return Object.is(desired, actual) ? [] : [path];
}

/** The name in `metadata.name`, or InputError naming the kind. */
function resourceName(resource: Record<string, any>, kind: string): string {
  const name = resource?.metadata?.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InputError(`The ArgoCD ${kind} has no metadata.name`);
  }
  if (!isPlainObject(resource.spec)) {
    throw new InputError(`The ArgoCD ${kind} '${name}' has no spec`);
  }
  return name;
}

/**
 * The object as ArgoCD's API declares it: metadata and spec only. The
 * swagger definitions (v1alpha1AppProject, v1alpha1Application) have no
 * apiVersion/kind; ArgoCD sets them itself.
 */
function apiShape(resource: Record<string, any>): {
  metadata: Record<string, any>;
  spec: any;
} {
  return {
    metadata: structuredClone(resource.metadata),
    spec: structuredClone(resource.spec),
  };
}

/** The Application with every source repoURL ending in exactly one `.git`. */
function normaliseApplication(app: Record<string, any>) {
  const shaped = apiShape(app);
  const { spec } = shaped;
  if (isPlainObject(spec.source) && typeof spec.source.repoURL === 'string') {
    spec.source.repoURL = normaliseRepoUrl(spec.source.repoURL);
  }
  if (Array.isArray(spec.sources)) {
    for (const source of spec.sources) {
      if (isPlainObject(source) && typeof source.repoURL === 'string') {
        source.repoURL = normaliseRepoUrl(source.repoURL);
      }
    }
  }
  return shaped;
}

/** Network errors and timeouts, 5xx, and ArgoCD's transient messages (any status). */
function isTransient(err: unknown): boolean {
  if (!(err instanceof ArgoCdRequestFailure)) return false;
  if (err.status === undefined || err.status >= 500) return true;
  return ARGOCD_TRANSIENT_MESSAGE.test(err.message);
}

/** ArgoCD client; see {@link ArgoCdApi}. */
export class ArgoCdClient implements ArgoCdApi {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly sleep?: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private readonly now?: () => number;
  private readonly logger?: LoggerService;

  /**
   * Reads `goldenPath.argocd.url`, `.token`, and optionally
   * `.requestTimeoutMs` and `.retry.{maxAttempts,baseDelayMs,maxDelayMs,maxTotalMs}`.
   */
  static fromConfig(
    config: Config,
    deps: Omit<
      ArgoCdClientOptions,
      'baseUrl' | 'token' | 'retry' | 'requestTimeoutMs'
    > = {},
  ): ArgoCdClient {
    return ArgoCdClient.fromSettings(readArgoCdSettings(config), deps);
  }

  /** From settings read once (see {@link readArgoCdSettings}). */
  static fromSettings(
    settings: GoldenPathSettings['argocd'],
    deps: Omit<ArgoCdClientOptions, 'baseUrl' | 'token'> = {},
  ): ArgoCdClient {
    return new ArgoCdClient({
      ...deps,
      baseUrl: settings.url,
      token: settings.token,
      retry: { ...settings.retry, ...deps.retry },
      requestTimeoutMs: deps.requestTimeoutMs ?? settings.requestTimeoutMs,
    });
  }

  constructor(options: ArgoCdClientOptions) {
    if (!options.baseUrl) throw new InputError('ArgoCD base URL is missing');
    if (!options.token) throw new InputError('ArgoCD token is missing');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchFn =
      options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.retry = { ...DEFAULT_ARGOCD_RETRY };
    for (const [key, value] of Object.entries(options.retry ?? {})) {
      if (value !== undefined) this.retry[key as keyof RetryPolicy] = value;
    }
    this.requestTimeoutMs =
      options.requestTimeoutMs ?? DEFAULT_ARGOCD_REQUEST_TIMEOUT_MS;
    this.sleep = options.sleep;
    this.random = options.random;
    this.now = options.now;
    this.logger = options.logger;
  }

  async getProject(name: string): Promise<Record<string, any> | undefined> {
    return this.request('GET', `/api/v1/projects/${encodeURIComponent(name)}`, {
      action: `reading project '${name}'`,
      notFoundOk: true,
    });
  }

  async ensureProject(
    project: Record<string, any>,
    opts: { update?: boolean; current?: Record<string, any> | undefined } = {},
  ): Promise<EnsureOutcome> {
    const name = resourceName(project, 'AppProject');
    const desired = apiShape(project);
    // `current` in opts (even undefined): the caller has just read it.
    const current = 'current' in opts ? opts.current : await this.getProject(name);
    if (!current) {
      await this.request('POST', '/api/v1/projects', {
        action: `creating project '${name}'`,
        body: { project: desired, upsert: false },
      });
      return 'created';
    }
    const diff = differences(desired.spec, current.spec, 'spec');
    if (diff.length === 0) return 'unchanged';
    if (!opts.update) {
      throw new ConflictError(
        `ArgoCD project '${name}' already exists with a different spec (at ${diff.join(
          ', ',
        )})`,
      );
    }
    await this.request('PUT', `/api/v1/projects/${encodeURIComponent(name)}`, {
      action: `updating project '${name}'`,
      body: {
        project: {
          ...desired,
          metadata: {
            ...desired.metadata,
            resourceVersion: current.metadata?.resourceVersion,
          },
        },
      },
    });
    return 'updated';
  }

  async deleteProject(name: string): Promise<void> {
    await this.request(
      'DELETE',
      `/api/v1/projects/${encodeURIComponent(name)}`,
      {
        action: `deleting project '${name}'`,
        notFoundOk: true,
      },
    );
  }

  async getApplication(name: string): Promise<Record<string, any> | undefined> {
    return this.request(
      'GET',
      `/api/v1/applications/${encodeURIComponent(name)}`,
      {
        action: `reading application '${name}'`,
        notFoundOk: true,
      },
    );
  }

  async ensureApplication(
    app: Record<string, any>,
    opts: { update?: boolean; current?: Record<string, any> | undefined } = {},
  ): Promise<EnsureOutcome> {
    const name = resourceName(app, 'Application');
    const desired = normaliseApplication(app);
    // `current` in opts (even undefined): the caller has just read it.
    const current = 'current' in opts ? opts.current : await this.getApplication(name);
    if (!current) {
      await this.request('POST', '/api/v1/applications?upsert=false', {
        action: `creating application '${name}'`,
        body: desired,
      });
      return 'created';
    }
    const diff = differences(desired.spec, current.spec, 'spec');
    if (diff.length === 0) return 'unchanged';
    if (!opts.update) {
      throw new ConflictError(
        `ArgoCD application '${name}' already exists with a different spec (at ${diff.join(
          ', ',
        )})`,
      );
    }
    await this.request(
      'PUT',
      `/api/v1/applications/${encodeURIComponent(name)}`,
      {
        action: `updating application '${name}'`,
        body: {
          ...desired,
          metadata: {
            ...desired.metadata,
            resourceVersion: current.metadata?.resourceVersion,
          },
        },
      },
    );
    return 'updated';
  }

  async deleteApplication(name: string): Promise<void> {
    await this.request(
      'DELETE',
      `/api/v1/applications/${encodeURIComponent(name)}?cascade=true`,
      {
        action: `deleting application '${name}'`,
        notFoundOk: true,
      },
    );
  }

  /**
   * One API call, retried on transient failures. Resolves to the JSON
   * answer, or undefined on 404 when `notFoundOk`.
   */
  private async request(
    method: HttpMethod,
    path: string,
    opts: { action: string; body?: unknown; notFoundOk?: boolean },
  ): Promise<any> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.token}`,
    };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const body =
      opts.body === undefined ? undefined : JSON.stringify(opts.body);

    const attempt = async () => {
      let response: Response;
      try {
        response = await this.fetchFn(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (err) {
        const failure = new ArgoCdRequestFailure(
          undefined,
          this.redact(err instanceof Error ? err.message : String(err)),
          // Keep what fetch threw unless it quotes the token (e.g. an invalid header value).
          this.mentionsToken(err) ? undefined : err,
        );
        if (err instanceof Error) failure.name = err.name;
        throw failure;
      }
      const text = await response.text();
      if (opts.notFoundOk && response.status === 404) return undefined;
      if (!response.ok) {
        throw new ArgoCdRequestFailure(
          response.status,
          this.errorDetail(response, text),
        );
      }
      if (!text) return {};
      try {
        return JSON.parse(text);
      } catch {
        throw new ArgoCdRequestFailure(
          response.status,
          'the answer is not JSON',
        );
      }
    };

    try {
      return await withRetry(attempt, {
        ...this.retry,
        isRetryable: isTransient,
        sleep: this.sleep,
        random: this.random,
        now: this.now,
        onRetry: (err, n, delayMs) =>
          this.logger?.warn(
            `ArgoCD: ${opts.action} failed (attempt ${n} of ${
              this.retry.maxAttempts
            }): ${
              err instanceof Error ? err.message : String(err)
            }; retrying in ${Math.round(delayMs)} ms`,
          ),
      });
    } catch (err) {
      throw this.mapError(err, opts.action);
    }
  }

  /** ArgoCD's `{ error, message, code }`, or the body text. */
  private errorDetail(response: Response, text: string): string {
    let detail = text.trim();
    try {
      const parsed = JSON.parse(text);
      if (isPlainObject(parsed)) {
        detail = String(parsed.message || parsed.error || detail);
      }
    } catch {
      // not JSON: keep the text
    }
    if (!detail) detail = response.statusText || 'no message';
    if (detail.length > MAX_DETAIL_LENGTH)
      detail = `${detail.slice(0, MAX_DETAIL_LENGTH)}…`;
    return this.redact(detail);
  }

  private redact(text: string): string {
    return text.split(this.token).join('***');
  }

  private mentionsToken(err: unknown, depth = 0): boolean {
    if (depth > 3 || err === undefined || err === null) return false;
    if (!(err instanceof Error)) return String(err).includes(this.token);
    return (
      `${err.message}\n${err.stack ?? ''}`.includes(this.token) ||
      this.mentionsToken(err.cause, depth + 1)
    );
  }

  /** The one place where failures become Backstage errors. */
  private mapError(err: unknown, action: string): Error {
    let failure = err;
    let attempts = 1;
    if (err instanceof RetryError) {
      failure = err.cause;
      attempts = err.attempts;
    }
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    if (
      !(failure instanceof ArgoCdRequestFailure) ||
      failure.status === undefined
    ) {
      // Network error or timeout: the failure carries fetch's error name and (redacted) message.
      return new ForwardedError(`ArgoCD: ${action} failed${tries}`, failure);
    }
    const message = `ArgoCD: ${action} failed${tries} (HTTP ${failure.status}): ${failure.message}`;
    switch (failure.status) {
      case 400:
        return new InputError(message);
      case 401:
      case 403:
        return new NotAllowedError(message);
      case 404:
        return new NotFoundError(message);
      case 409:
        return new ConflictError(message);
      default:
        return new ForwardedError(
          `ArgoCD: ${action} failed${tries} (HTTP ${failure.status})`,
          failure,
        );
    }
  }
}
