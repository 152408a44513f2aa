/**
 * The Kubernetes fake: discovery, server-side apply, get, list and delete
 * for the resource types in {@link KUBERNETES_RESOURCES}, enough for
 * `@kubernetes/client-node`'s KubernetesObjectApi and CoreV1Api (and so for
 * the golden path's KubernetesClient). Errors are Kubernetes `Status`
 * objects. Any bearer token is accepted; none is refused.
 *
 * State: `<dataDir>/kubernetes.db` (SQLite, one row per object).
 */
import crypto from 'node:crypto';
import express, { NextFunction, Request, Response, Router } from 'express';
import { parse as parseYaml } from 'yaml';
import { SandboxFakeFactory, SeedService } from '../server';
import { Collection, Store } from '../store';
import path from 'node:path';
import {
  ApplyConflictError,
  ChangeResult,
  createdManagedFields,
  isObject,
  Json,
  mergePatch,
  sameJson,
  serverSideApply,
} from './apply';
import {
  discoveryDocument,
  groupVersion,
  KUBERNETES_RESOURCES,
  parseKubernetesPath,
  qualifiedResource,
  ResourceType,
  VERSION_INFO,
} from './resources';

export { KUBERNETES_RESOURCES } from './resources';
export type { ResourceType } from './resources';

/**
 * Every operation name of the Kubernetes fake, as used by fault rules
 * (`{ service: 'kubernetes', operation }`) and the operation log:
 * `discovery` for `/version`, `/api`, `/apis` and the resource lists, and
 * `<METHOD> <resource>` otherwise (`PATCH networkpolicies`,
 * `GET namespaces` for a read or a list, `DELETE namespaces`,
 * `POST configmaps`). Requests that match none are named `<METHOD> <path>`.
 */
export const KUBERNETES_OPERATIONS: readonly string[] = [
  'discovery',
  ...KUBERNETES_RESOURCES.flatMap(t =>
    ['GET', 'POST', 'PATCH', 'DELETE'].map(method => `${method} ${t.resource}`),
  ),
];

/** Names a Kubernetes request as in {@link KUBERNETES_OPERATIONS}. */
export function kubernetesOperationOf(req: Pick<Request, 'method' | 'path'>): string {
  const parsed = parseKubernetesPath(req.path);
  const method = req.method.toUpperCase();
  if (parsed.type === 'discovery') return 'discovery';
  if (parsed.type === 'resource') return `${method} ${parsed.resourceType.resource}`;
  return `${method} ${req.path}`;
}

/** The server-side apply media type. */
const APPLY_PATCH = 'application/apply-patch+yaml';
const MERGE_PATCHES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/** An answer as a Kubernetes `Status`. */
class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }

  toStatus(): Json {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function notFound(type: ResourceType, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.resource,
  });
}

const NAMESPACES = KUBERNETES_RESOURCES.find(t => t.resource === 'namespaces')!;

/** Objects by `<group>/<resource>/<namespace>/<name>` (namespace '' when cluster-scoped), filed under `<group>/<resource>/<namespace>`. */
interface StoredObject {
  key: string;
  object: Json;
}

function objectKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return [type.group, type.resource, type.namespaced ? namespace ?? '' : '', name].join('/');
}

function collectionKey(type: ResourceType, namespace?: string): string {
  return [type.group, type.resource, type.namespaced ? namespace ?? '' : ''].join('/');
}

/** Kubernetes timestamps have second precision. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Names Kubernetes keeps for itself: `kube-` namespaces are the system's. */
const RESERVED_NAMESPACE_PREFIX = 'kube-';

/**
 * The API server's name validation: DNS-1123 labels for namespaces,
 * DNS-1035 labels for Services, DNS-1123 subdomains for everything else.
 */
function checkName(type: ResourceType, name: unknown): string {
  const kindName = `${type.kind} "${String(name ?? '')}"`;
  if (typeof name !== 'string' || !name) {
    throw new StatusError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
  }
  const invalid = (why: string) =>
    new StatusError(422, 'Invalid', `${kindName} is invalid: metadata.name: Invalid value: "${name}": ${why}`, {
      name,
      kind: type.kind,
      causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${why}`, field: 'metadata.name' }],
    });
  if (type.resource === 'namespaces') {
    if (name.length > 63) throw invalid('must be no more than 63 characters');
    if (!DNS1123_LABEL.test(name)) {
      throw invalid(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  } else if (type.resource === 'services') {
    if (name.length > 63) throw invalid('must be no more than 63 characters');
    if (!DNS1035_LABEL.test(name)) {
      throw invalid(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw invalid(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return name;
}

/** Refuses to create a namespace in the system's `kube-` range. */
function checkNewNamespace(name: string) {
  if (name.startsWith(RESERVED_NAMESPACE_PREFIX)) {
    throw new StatusError(
      422,
      'Invalid',
      `Namespace "${name}" is invalid: metadata.name: Invalid value: "${name}": the prefix "${RESERVED_NAMESPACE_PREFIX}" is reserved for Kubernetes system namespaces`,
      { name, kind: 'Namespace' },
    );
  }
}

function matchesLabelSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .every(term => {
      const notEq = /^([^!=]+)!=(.*)$/.exec(term);
      if (notEq) return labels?.[notEq[1].trim()] !== notEq[2].trim();
      const eq = /^([^=]+)==?(.*)$/.exec(term);
      if (eq) return labels?.[eq[1].trim()] === eq[2].trim();
      if (term.startsWith('!')) return labels?.[term.slice(1).trim()] === undefined;
      return labels?.[term] !== undefined;
    });
}

function matchesFieldSelector(object: Json, selector: string): boolean {
  return selector
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .every(term => {
      const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term);
      if (!m) return true;
      const value = m[1].trim().split('.').reduce<any>((node, k) => node?.[k], object);
      const equal = String(value ?? '') === m[3].trim();
      return m[2] === '!=' ? !equal : equal;
    });
}

/** The bearer token, or undefined. */
function bearerToken(req: Request): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '')?.[1];
}

/** Paths the real API server serves without authentication. */
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

/** The Kubernetes fake (see the module comment). */
export const kubernetesFake: SandboxFakeFactory = env => {
  const store = new Store(path.join(env.dataDir, 'kubernetes.db'));
  const objects: Collection<StoredObject> = store.collection('object', o => ({
    id: o.key,
    parent: o.key.slice(0, o.key.lastIndexOf('/')),
  }));
  const getObject = (key: string): Json | undefined => objects.get(key)?.object;
  const nextResourceVersion = () => String(store.next('resourceVersion'));

  const router = Router();
  const text = express.text({ type: () => true, limit: '10mb' });

  /** The request body: YAML or JSON, one object. */
  const bodyObject = (req: Request): Json => {
    const raw = typeof req.body === 'string' ? req.body : '';
    let value: unknown;
    try {
      value = raw.trim() ? parseYaml(raw) : undefined;
    } catch (err) {
      throw new StatusError(400, 'BadRequest', `error decoding YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!isObject(value)) {
      throw new StatusError(400, 'BadRequest', 'the body of the request must be an object');
    }
    return value;
  };

  const namespaceExists = (namespace: string) => Boolean(getObject(objectKey(NAMESPACES, undefined, namespace)));

  /** Checks the object's apiVersion/kind/name/namespace against the URL; fills what is missing. */
  const checkBody = (type: ResourceType, object: Json, urlNamespace: string | undefined, urlName?: string) => {
    const expected = groupVersion(type);
    if (object.apiVersion !== expected || object.kind !== type.kind) {
      if (!object.apiVersion || !object.kind) {
        throw new StatusError(400, 'BadRequest', `Object 'Kind' or 'apiVersion' is missing in '${JSON.stringify(object).slice(0, 200)}'`);
      }
      throw new StatusError(
        400,
        'BadRequest',
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${expected}) or the kind (${object.kind}) does not match ${type.kind}`,
      );
    }
    object.metadata = isObject(object.metadata) ? object.metadata : {};
    if (urlName !== undefined) {
      if (object.metadata.name === undefined || object.metadata.name === '') object.metadata.name = urlName;
      if (object.metadata.name !== urlName) {
        throw new StatusError(400, 'BadRequest', `the name of the object (${object.metadata.name}) does not match the name on the URL (${urlName})`);
      }
    }
    if (type.namespaced) {
      if (object.metadata.namespace === undefined || object.metadata.namespace === '') object.metadata.namespace = urlNamespace;
      if (object.metadata.namespace !== urlNamespace) {
        throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
    } else {
      delete object.metadata.namespace;
    }
    checkName(type, object.metadata.name);
  };

  /** Stores a changed object with fresh server fields; returns what to answer. */
  const commit = (
    type: ResourceType,
    ref: { key: string; namespace?: string; name: string },
    previous: Json | undefined,
    result: ChangeResult,
    dryRun: boolean,
  ): Json => {
    if (!result.changed) return previous!;
    const object = result.object;
    const now = timestamp();
    const content = ({ metadata: _m, status: _s, ...rest }: Json) => rest;
    const specChanged = !previous || !sameJson(content(previous), content(object));
    const metadata: Json = {
      ...object.metadata,
      name: ref.name,
      ...(type.namespaced ? { namespace: ref.namespace } : {}),
      uid: previous?.metadata?.uid ?? crypto.randomUUID(),
      resourceVersion: dryRun ? previous?.metadata?.resourceVersion ?? '' : nextResourceVersion(),
      creationTimestamp: previous?.metadata?.creationTimestamp ?? now,
    };
    if (type.hasGeneration) {
      metadata.generation = (previous?.metadata?.generation ?? 0) + (specChanged ? 1 : 0);
    } else {
      delete metadata.generation;
    }
    if (type.resource === 'namespaces') {
      metadata.labels = { ...metadata.labels, 'kubernetes.io/metadata.name': metadata.name };
      object.spec = { finalizers: ['kubernetes'], ...object.spec };
      object.status = { phase: 'Active' };
    }
    const stored = { ...object, apiVersion: groupVersion(type), kind: type.kind, metadata };
    if (!dryRun) objects.put({ key: ref.key, object: stored });
    return stored;
  };

  const handleObjectRequest = (req: Request, res: Response, type: ResourceType, namespace: string | undefined, name: string) => {
    const key = objectKey(type, namespace, name);
    const current = getObject(key);
    const dryRun = req.query.dryRun === 'All';
    const fieldManager = typeof req.query.fieldManager === 'string' ? req.query.fieldManager : undefined;
    switch (req.method) {
      case 'GET': {
        if (!current) throw notFound(type, name);
        res.json(current);
        return;
      }
      case 'PATCH': {
        const contentType = (req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
        if (contentType === APPLY_PATCH) {
          if (!fieldManager) {
            throw new StatusError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
          }
          const force = String(req.query.force ?? 'false') === 'true';
          const applied = bodyObject(req);
          checkBody(type, applied, namespace, name);
          if (type.namespaced && !namespaceExists(namespace!)) throw notFound(NAMESPACES, namespace!);
          if (!current && type.resource === 'namespaces') checkNewNamespace(name);
          let result: ChangeResult;
          try {
            result = serverSideApply(current, applied, { manager: fieldManager, force, now: timestamp() });
          } catch (err) {
            if (err instanceof ApplyConflictError) {
              throw new StatusError(409, 'Conflict', err.message, {
                causes: err.conflicts.map(c => ({
                  reason: 'FieldManagerConflict',
                  message: `conflict with "${c.manager}" using ${c.apiVersion}`,
                  field: c.field,
                })),
              });
            }
            throw err;
          }
          res.status(current ? 200 : 201).json(commit(type, { key, namespace, name }, current, result, dryRun));
          return;
        }
        if (MERGE_PATCHES.includes(contentType)) {
          if (!current) throw notFound(type, name);
          const patch = bodyObject(req);
          const result = mergePatch(current, patch, { manager: fieldManager ?? 'sandbox-patch', now: timestamp() });
          checkBody(type, result.object, namespace, name);
          res.json(commit(type, { key, namespace, name }, current, result, dryRun));
          return;
        }
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${[APPLY_PATCH, ...MERGE_PATCHES].join(', ')}`,
        );
      }
      case 'DELETE': {
        if (!current) throw notFound(type, name);
        if (dryRun) {
          res.json(current);
          return;
        }
        if (type.resource === 'namespaces') {
          // Namespace deletion takes everything in it along.
          store.transaction(() => {
            objects.delete(key);
            for (const t of KUBERNETES_RESOURCES) if (t.namespaced) objects.deleteByParent(collectionKey(t, name));
          });
          res.json({
            ...current,
            metadata: { ...current.metadata, deletionTimestamp: timestamp() },
            status: { phase: 'Terminating' },
          });
          return;
        }
        objects.delete(key);
        res.json({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, ...(type.group ? { group: type.group } : {}), kind: type.resource, uid: current.metadata?.uid },
        });
        return;
      }
      default:
        throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${req.method})`);
    }
  };

  const handleCollectionRequest = (req: Request, res: Response, type: ResourceType, namespace: string | undefined) => {
    switch (req.method) {
      case 'GET': {
        const labelSelector = typeof req.query.labelSelector === 'string' ? req.query.labelSelector : '';
        const fieldSelector = typeof req.query.fieldSelector === 'string' ? req.query.fieldSelector : '';
        const stored =
          type.namespaced && namespace === undefined
            ? objects.listPrefix(`${type.group}/${type.resource}/`)
            : objects.list({ parent: collectionKey(type, namespace) });
        const items = stored
          .map(o => o.object)
          .filter(o => !labelSelector || matchesLabelSelector(o.metadata?.labels, labelSelector))
          .filter(o => !fieldSelector || matchesFieldSelector(o, fieldSelector))
          .sort((a, b) =>
            `${a.metadata?.namespace ?? ''}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace ?? ''}/${b.metadata?.name}`),
          )
          // Items of a list carry no apiVersion/kind, as in the real API.
          .map(({ apiVersion: _v, kind: _k, ...rest }) => rest);
        res.json({
          kind: `${type.kind}List`,
          apiVersion: groupVersion(type),
          metadata: { resourceVersion: String(store.current('resourceVersion')) },
          items,
        });
        return;
      }
      case 'POST': {
        if (type.namespaced && namespace === undefined) {
          throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        }
        const object = bodyObject(req);
        checkBody(type, object, namespace);
        const name = object.metadata.name as string;
        if (type.namespaced && !namespaceExists(namespace!)) throw notFound(NAMESPACES, namespace!);
        const key = objectKey(type, namespace, name);
        if (type.resource === 'namespaces') checkNewNamespace(name);
        if (getObject(key)) {
          throw new StatusError(409, 'AlreadyExists', `${qualifiedResource(type)} "${name}" already exists`, {
            name,
            ...(type.group ? { group: type.group } : {}),
            kind: type.resource,
          });
        }
        const { status: _s, ...withoutStatus } = object;
        const manager = typeof req.query.fieldManager === 'string' ? req.query.fieldManager : 'sandbox-create';
        const created = {
          ...withoutStatus,
          metadata: { ...object.metadata, managedFields: createdManagedFields(withoutStatus, manager, timestamp()) },
        };
        res.status(201).json(commit(type, { key, namespace, name }, undefined, { object: created, changed: true }, req.query.dryRun === 'All'));
        return;
      }
      default:
        throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${req.method})`);
    }
  };

  router.get(['/healthz', '/livez', '/readyz'], (_req, res) => {
    res.type('text/plain').send('ok');
  });

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (PUBLIC_PATHS.has(req.path) || bearerToken(req)) return next();
    res.status(401).json(new StatusError(401, 'Unauthorized', 'Unauthorized').toStatus());
    return undefined;
  });

  router.use(text, (req: Request, res: Response) => {
    try {
      const parsed = parseKubernetesPath(req.path);
      if (parsed.type === 'discovery') {
        if (req.method !== 'GET') {
          throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        }
        const p = req.path.replace(/\/+$/, '');
        const doc = p === '/version' ? VERSION_INFO : discoveryDocument(p, new URL(env.urls.kubernetes).host);
        if (!doc) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
        res.json(doc);
        return;
      }
      if (parsed.type === 'unknown') {
        throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
      }
      const { resourceType: type, namespace, name } = parsed;
      if (name === undefined) handleCollectionRequest(req, res, type, namespace);
      else handleObjectRequest(req, res, type, namespace, name);
    } catch (err) {
      const status =
        err instanceof StatusError
          ? err
          : new StatusError(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`);
      res.status(status.code).json(status.toStatus());
    }
  });

  // Bodies that cannot be read (too large, bad encoding).
  router.use((err: any, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = new StatusError(
      typeof err?.status === 'number' && err.status < 500 ? err.status : 500,
      typeof err?.status === 'number' && err.status < 500 ? 'BadRequest' : 'InternalError',
      err instanceof Error ? err.message : String(err),
    );
    res.status(status.code).json(status.toStatus());
    return undefined;
  });

  /** A Namespace per service. */
  const seed = async (services: SeedService[]) => {
    store.transaction(() => {
      for (const { name } of services) {
        const key = objectKey(NAMESPACES, undefined, name);
        if (getObject(key)) continue;
        const now = timestamp();
        const object = {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { 'golden-path/app': name } },
        };
        commit(NAMESPACES, { key, name }, undefined, {
          object: { ...object, metadata: { ...object.metadata, managedFields: createdManagedFields(object, 'sandbox-seed', now) } },
          changed: true,
        }, false);
      }
    });
  };

  return { router, operationOf: kubernetesOperationOf, seed, close: () => store.close() };
};
