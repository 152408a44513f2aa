/**
 * Kubernetes client: server-side apply and delete of rendered objects, and
 * a namespace existence check. Built on @kubernetes/client-node v2.
 */
import { Config } from '@backstage/config';
import { GoldenPathSettings, readKubernetesSettings } from '../config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import type * as ClientNode from '@kubernetes/client-node';
import type {
  CoreV1Api,
  HttpLibrary,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import { KubernetesApi, KubernetesObject } from './types';

/**
 * @kubernetes/client-node, loaded on first use (Node caches it): loading it
 * takes about 0.8 s on a 2-core machine, nearly all that our modules added
 * to the backend's start (`yarn bench`, footprint). Only types are imported
 * above, so importing this file loads nothing; a backend that makes no
 * Kubernetes call never pays for it.
 */
function k8s(): typeof ClientNode {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@kubernetes/client-node');
}

/** Field manager of our server-side applies. */
export const DEFAULT_FIELD_MANAGER = 'golden-path-idp';

/** Timeout of each request to the API server when none is given. */
export const DEFAULT_KUBERNETES_REQUEST_TIMEOUT_MS = 30_000;

/** Largest part of an error message kept. */
const MAX_DETAIL_LENGTH = 1000;

export interface KubernetesClientOptions {
  /** Cluster, user and context to use (its current context). */
  kc: KubeConfig;
  /** Default {@link DEFAULT_FIELD_MANAGER}. */
  fieldManager?: string;
  /** Timeout of each request. Default {@link DEFAULT_KUBERNETES_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /**
   * Sends requests through this fetch instead of the client library's own
   * (which cannot be intercepted). It receives the library's TLS settings as
   * undici's `dispatcher` option, as Node's global fetch accepts.
   */
  fetch?: typeof fetch;
}

/** An HttpLibrary for the generated client that sends through `fetchFn`. */
function fetchHttpLibrary(fetchFn: typeof fetch): HttpLibrary {
  const { ResponseContext: Response, SelfDecodingBody } = k8s();
  return k8s().wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const init = {
        method: request.getHttpMethod(),
        headers: request.getHeaders(),
        body: request.getBody() as string | undefined,
        signal: request.getSignal(),
        dispatcher: request.getDispatcher(),
      };
      const response = await fetchFn(request.getUrl(), init as RequestInit);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const data = Buffer.from(await response.arrayBuffer());
      return new Response(
        response.status,
        headers,
        new SelfDecodingBody(Promise.resolve(data)),
      );
    },
  });
}

type AttributeTypeMap = Array<{ name: string; baseName: string; type: string }>;
const generatedModels = () =>
  k8s() as unknown as Record<
    string,
    { getAttributeTypeMap?: () => AttributeTypeMap } | undefined
  >;

/**
 * `data` (wire format) in the shape of the generated model `type`. The
 * client serialises built-in kinds through those models, which rename a few
 * fields (`from` is `_from`, `default` is `_default`, ...) and drop whatever
 * they do not know: sent as is, a NetworkPolicy's `from` would vanish and its
 * rule would admit every source.
 */
function toModel(data: unknown, type: string): unknown {
  if (data === null || data === undefined) return data;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return Array.isArray(data) ? data.map(d => toModel(d, array[1])) : data;
  }
  const attributes = generatedModels()[type]?.getAttributeTypeMap?.();
  if (!attributes || typeof data !== 'object' || Array.isArray(data)) {
    return data;
  }
  const model: Record<string, unknown> = {};
  for (const { name, baseName, type: attributeType } of attributes) {
    const value = (data as Record<string, unknown>)[baseName];
    if (value !== undefined) model[name] = toModel(value, attributeType);
  }
  return model;
}

/** The object as the client's serialiser expects it: built-in kinds as models, the rest as is. */
function forSerializer(object: KubernetesObject): KubernetesObject {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${object.kind}`;
  // Only core groups have generated models; a CRD kind could share a name.
  const builtIn = group === '' || !group.includes('.') || group.endsWith('.k8s.io');
  if (!builtIn || !generatedModels()[type]?.getAttributeTypeMap) {
    return structuredClone(object);
  }
  return toModel(structuredClone(object), type) as KubernetesObject;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped objects. */
function describeObject(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return `${object.kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

function checkObject(object: KubernetesObject): void {
  if (!object?.apiVersion || !object.kind || !object.metadata?.name) {
    throw new InputError(
      `A Kubernetes object needs apiVersion, kind and metadata.name (got ${JSON.stringify(
        {
          apiVersion: object?.apiVersion,
          kind: object?.kind,
          name: object?.metadata?.name,
        },
      )})`,
    );
  }
}

/** The message of a Kubernetes Status body, or the body text. */
function statusMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
  }
  if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
    return String((parsed as { message: unknown }).message);
  }
  if (typeof parsed === 'string') return parsed.trim();
  return parsed === undefined ? '' : JSON.stringify(parsed);
}

/** KubernetesClient; see {@link KubernetesApi}. */
export class KubernetesClient implements KubernetesApi {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly fieldManager: string;
  private readonly token?: string;

  /**
   * Reads `goldenPath.kubernetes.url`, `.token`, and optionally `.caData`
   * (base64 PEM) and `.skipTLSVerify`.
   */
  static fromConfig(
    config: Config,
    options: Omit<KubernetesClientOptions, 'kc'> = {},
  ): KubernetesClient {
    return KubernetesClient.fromSettings(
      readKubernetesSettings(config),
      options,
    );
  }

  /** From settings read once (see {@link readKubernetesSettings}). */
  static fromSettings(
    settings: GoldenPathSettings['kubernetes'],
    options: Omit<KubernetesClientOptions, 'kc'> = {},
  ): KubernetesClient {
    const name = 'golden-path';
    const kc = new (k8s().KubeConfig)();
    kc.loadFromOptions({
      clusters: [
        {
          name,
          server: settings.url.replace(/\/+$/, ''),
          caData: settings.caData,
          skipTLSVerify: settings.skipTLSVerify,
        },
      ],
      users: [{ name, token: settings.token }],
      contexts: [{ name, cluster: name, user: name }],
      currentContext: name,
    });
    return new KubernetesClient({ ...options, kc });
  }

  constructor(options: KubernetesClientOptions) {
    const { kc } = options;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new InputError('The KubeConfig has no current cluster');
    const timeoutMs =
      options.requestTimeoutMs ?? DEFAULT_KUBERNETES_REQUEST_TIMEOUT_MS;
    // What kc.makeApiClient builds, plus a timeout and an optional fetch.
    const {
      createConfiguration,
      ServerConfiguration,
      KubernetesObjectApi: ObjectApi,
      CoreV1Api: CoreApi,
      NetworkingV1Api: NetworkingApi,
    } = k8s();
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(
        cluster.server.replace(/\/+$/, ''),
        {},
      ),
      authMethods: { default: kc },
      httpApi: options.fetch ? fetchHttpLibrary(options.fetch) : undefined,
      promiseMiddleware: [
        {
          pre: async context => {
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return context;
          },
          post: async context => context,
        },
      ],
    });
    this.objects = new ObjectApi(configuration);
    this.core = new CoreApi(configuration);
    this.networking = new NetworkingApi(configuration);
    this.fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.token = kc.getCurrentUser()?.token;
  }

  /**
   * Applies Namespaces first, then everything else at once: namespaced
   * objects need their namespace, not each other. Waits for every apply to
   * settle before reporting the first failure.
   */
  async apply(objects: KubernetesObject[]): Promise<void> {
    objects.forEach(checkObject);
    const applyOne = async (object: KubernetesObject) => {
      try {
        // The library fills in defaults on the object it is given: pass a copy.
        await this.objects.patch(
          forSerializer(object),
          undefined,
          undefined,
          this.fieldManager,
          true,
          k8s().PatchStrategy.ServerSideApply,
        );
      } catch (err) {
        throw this.mapError(err, `applying ${describeObject(object)}`);
      }
    };
    const isNamespace = (o: KubernetesObject) => o.kind === 'Namespace';
    await allSettledOrThrow(objects.filter(isNamespace).map(applyOne));
    await allSettledOrThrow(objects.filter(o => !isNamespace(o)).map(applyOne));
  }

  async createNamespace(namespace: KubernetesObject): Promise<void> {
    checkObject(namespace);
    try {
      await this.core.createNamespace({
        body: structuredClone(namespace) as any,
        fieldManager: this.fieldManager,
      });
    } catch (err) {
      throw this.mapError(err, `creating ${describeObject(namespace)}`);
    }
  }

  /** Deletes namespaced objects at once, then Namespaces; missing = done. */
  async delete(objects: KubernetesObject[]): Promise<void> {
    objects.forEach(checkObject);
    const deleteOne = async (object: KubernetesObject) => {
      try {
        await this.objects.delete(structuredClone(object));
      } catch (err) {
        const mapped = this.mapError(err, `deleting ${describeObject(object)}`);
        if (!(mapped instanceof NotFoundError)) throw mapped;
      }
    };
    const isNamespace = (o: KubernetesObject) => o.kind === 'Namespace';
    await allSettledOrThrow(
      objects.filter(o => !isNamespace(o)).map(deleteOne),
    );
    await allSettledOrThrow(objects.filter(isNamespace).map(deleteOne));
  }

  async namespaceLabels(
    name: string,
  ): Promise<Record<string, string> | undefined> {
    try {
      const ns = await this.core.readNamespace({ name });
      return ns.metadata?.labels ?? {};
    } catch (err) {
      const mapped = this.mapError(err, `reading Namespace ${name}`);
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  }

  async findIngressesClaimingHost(
    host: string,
  ): Promise<Array<{ namespace: string; name: string }>> {
    const wanted = host.toLowerCase();
    const claimed: Array<{ namespace: string; name: string }> = [];
    let _continue: string | undefined;
    try {
      do {
        const page = await this.networking.listIngressForAllNamespaces({
          limit: 500,
          _continue,
        });
        for (const ingress of page.items ?? []) {
          const hosts = [
            ...(ingress.spec?.rules ?? []).map(r => r.host),
            ...(ingress.spec?.tls ?? []).flatMap(t => t.hosts ?? []),
          ];
          if (hosts.some(h => h && hostClaims(h, wanted))) {
            claimed.push({
              namespace: ingress.metadata?.namespace ?? '',
              name: ingress.metadata?.name ?? '',
            });
          }
        }
        _continue = page.metadata?._continue || undefined;
      } while (_continue);
    } catch (err) {
      throw this.mapError(err, `listing Ingresses that claim host ${host}`);
    }
    return claimed;
  }

  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.core.readNamespace({ name });
      return true;
    } catch (err) {
      const mapped = this.mapError(err, `reading Namespace ${name}`);
      if (mapped instanceof NotFoundError) return false;
      throw mapped;
    }
  }

  private redact(text: string): string {
    return this.token ? text.split(this.token).join('***') : text;
  }

  /** The one place where failures become Backstage errors. */
  private mapError(err: unknown, action: string): Error {
    const code = err instanceof k8s().ApiException ? Number((err as ClientNode.ApiException<unknown>).code) : undefined;
    // The library's own message quotes body and headers; keep the cause only if it is token-free.
    const cause =
      this.token &&
      err instanceof Error &&
      `${err.message}\n${err.stack}`.includes(this.token)
        ? new Error(this.redact(err.message))
        : err;
    if (code === undefined) {
      return new ForwardedError(`Kubernetes: ${action} failed`, cause);
    }
    let detail = this.redact(
      statusMessage((err as ClientNode.ApiException<unknown>).body),
    );
    if (detail.length > MAX_DETAIL_LENGTH)
      detail = `${detail.slice(0, MAX_DETAIL_LENGTH)}…`;
    const message = `Kubernetes: ${action} failed (HTTP ${code})${
      detail ? `: ${detail}` : ''
    }`;
    switch (code) {
      case 400:
      case 422:
        return new InputError(message);
      case 401:
      case 403:
        return new NotAllowedError(message);
      case 404:
        return new NotFoundError(message);
      case 409:
        return new ConflictError(message);
      default:
        return new ForwardedError(message, cause);
    }
  }
}

/**
 * Whether an Ingress host claims `host`: equal (ignoring case), or a
 * wildcard `*.example.com` covering its first label, as Ingress defines it.
 */
export function hostClaims(ingressHost: string, host: string): boolean {
  const pattern = ingressHost.toLowerCase();
  if (pattern.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot) === pattern.slice(1);
  }
  return pattern === host;
}

/** Waits for all; throws the first failure once nothing is in flight. */
async function allSettledOrThrow(work: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find(r => r.status === 'rejected') as
    | PromiseRejectedResult
    | undefined;
  if (failed) throw failed.reason;
}
