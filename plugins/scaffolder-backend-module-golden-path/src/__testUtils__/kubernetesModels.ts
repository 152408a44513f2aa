/**
 * Test helpers: validate core Kubernetes objects with kubernetes-models
 * (generated from the Kubernetes v1.36 OpenAPI) and detect unknown fields
 * with @kubernetes/client-node's model metadata.
 *
 * Test-only module: never import it from production code.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Node's own `require`, not Jest's. kubernetes-models and
 * @kubernetes/client-node are ESM-only and export only the `import`
 * condition, which Jest's CommonJS resolver cannot load, and Jest also
 * replaces `module.createRequire`. `process.getBuiltinModule` hands out
 * Node's real module API, whose require() loads ESM (Node >= 22.12); an
 * absolute file path bypasses the `exports` map.
 */
function nodeRequire(): NodeJS.Require {
  if (typeof process.getBuiltinModule !== 'function') {
    throw new Error('process.getBuiltinModule needs Node >= 22.3');
  }
  return process.getBuiltinModule('node:module').createRequire(__filename);
}

function packageDir(name: string): string {
  const req = nodeRequire() as NodeJS.Require;
  const candidates = (req.resolve.paths(name) ?? []).map(dir =>
    path.join(dir, name),
  );
  const found = candidates.find(dir =>
    fs.existsSync(path.join(dir, 'package.json')),
  );
  if (!found) {
    throw new Error(
      `${name} is not installed (looked in ${candidates.join(', ')})`,
    );
  }
  return found;
}

/** The core kinds we generate: kubernetes-models file and client-node model type. */
const CORE_KINDS: Record<
  string,
  { file: string; exportName: string; clientType: string }
> = {
  'v1/Namespace': {
    file: 'v1/Namespace.js',
    exportName: 'Namespace',
    clientType: 'V1Namespace',
  },
  'v1/ServiceAccount': {
    file: 'v1/ServiceAccount.js',
    exportName: 'ServiceAccount',
    clientType: 'V1ServiceAccount',
  },
  'v1/Service': {
    file: 'v1/Service.js',
    exportName: 'Service',
    clientType: 'V1Service',
  },
  'v1/ConfigMap': {
    file: 'v1/ConfigMap.js',
    exportName: 'ConfigMap',
    clientType: 'V1ConfigMap',
  },
  'v1/ResourceQuota': {
    file: 'v1/ResourceQuota.js',
    exportName: 'ResourceQuota',
    clientType: 'V1ResourceQuota',
  },
  'v1/LimitRange': {
    file: 'v1/LimitRange.js',
    exportName: 'LimitRange',
    clientType: 'V1LimitRange',
  },
  'apps/v1/Deployment': {
    file: 'apps/v1/Deployment.js',
    exportName: 'Deployment',
    clientType: 'V1Deployment',
  },
  'networking.k8s.io/v1/Ingress': {
    file: 'networking.k8s.io/v1/Ingress.js',
    exportName: 'Ingress',
    clientType: 'V1Ingress',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    file: 'networking.k8s.io/v1/NetworkPolicy.js',
    exportName: 'NetworkPolicy',
    clientType: 'V1NetworkPolicy',
  },
  'rbac.authorization.k8s.io/v1/Role': {
    file: 'rbac.authorization.k8s.io/v1/Role.js',
    exportName: 'Role',
    clientType: 'V1Role',
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    file: 'rbac.authorization.k8s.io/v1/RoleBinding.js',
    exportName: 'RoleBinding',
    clientType: 'V1RoleBinding',
  },
};

/** `apiVersion/kind` keys of the core kinds {@link validateCoreObject} knows. */
export const CORE_KIND_KEYS: readonly string[] = Object.keys(CORE_KINDS);

const modelCache = new Map<string, any>();
let serializer: any;

function modelClass(key: string): any {
  if (!modelCache.has(key)) {
    const { file, exportName } = CORE_KINDS[key];
    const mod = nodeRequire()(path.join(packageDir('kubernetes-models'), file));
    modelCache.set(key, mod[exportName]);
  }
  return modelCache.get(key);
}

function objectSerializer(): any {
  if (!serializer) {
    const file = path.join(
      packageDir('@kubernetes/client-node'),
      'dist/gen/models/ObjectSerializer.js',
    );
    serializer = nodeRequire()(file).ObjectSerializer;
  }
  return serializer;
}

/**
 * Paths present in `original` but missing or different in `roundTripped`.
 */
function differences(
  original: unknown,
  roundTripped: unknown,
  at = '',
): string[] {
  if (Array.isArray(original)) {
    if (!Array.isArray(roundTripped)) return [`${at || '/'} changed`];
    return original.flatMap((item, i) =>
      differences(item, roundTripped[i], `${at}/${i}`),
    );
  }
  if (original !== null && typeof original === 'object') {
    if (roundTripped === null || typeof roundTripped !== 'object') {
      return [`${at || '/'} changed`];
    }
    return Object.entries(original).flatMap(([key, value]) =>
      key in (roundTripped as object)
        ? differences(
            value,
            (roundTripped as Record<string, unknown>)[key],
            `${at}/${key}`,
          )
        : [`${at}/${key} is not a known field`],
    );
  }
  return Object.is(original, roundTripped) ? [] : [`${at || '/'} changed`];
}

/**
 * Fields of `object` that the Kubernetes API does not define. The
 * client-node models know every field of every kind: reading the object
 * into a model and writing it back drops exactly the unknown ones.
 */
export function unknownCoreFields(object: {
  apiVersion: string;
  kind: string;
}): string[] {
  const entry = CORE_KINDS[`${object.apiVersion}/${object.kind}`];
  if (!entry)
    throw new Error(
      `Not a known core kind: ${object.apiVersion} ${object.kind}`,
    );
  const wire = JSON.parse(JSON.stringify(object));
  const os = objectSerializer();
  const model = os.deserialize(wire, entry.clientType, '');
  const back = JSON.parse(
    JSON.stringify(os.serialize(model, entry.clientType, '')),
  );
  return differences(wire, back);
}

/**
 * Problems with a core Kubernetes object (empty when valid): the
 * kubernetes-models `validate()` result (types, enums, required fields)
 * plus unknown fields.
 */
export function validateCoreObject(object: unknown): string[] {
  const o = object as { apiVersion?: unknown; kind?: unknown };
  const key = `${String(o?.apiVersion)}/${String(o?.kind)}`;
  if (!CORE_KINDS[key]) return [`${key} is not a known core kind`];
  const Model = modelClass(key);
  const problems: string[] = [];
  try {
    new Model(object).validate();
  } catch (e) {
    problems.push(`schema: ${(e as Error).message}`);
  }
  problems.push(
    ...unknownCoreFields(object as { apiVersion: string; kind: string }),
  );
  return problems;
}
