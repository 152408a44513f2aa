/**
 * Test helpers: load the upstream CRD schemas of the conformance kit
 * (`<repo>/../shared/conformance`, see its README.md) and validate
 * generated objects against them, with unknown fields made to fail.
 *
 * Test-only module: never import it from production code.
 */
import fs from 'node:fs';
import path from 'node:path';
// Test-only helpers import dev dependencies; nothing in src/index.ts reaches this file.
// eslint-disable-next-line @backstage/no-undeclared-imports
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
// eslint-disable-next-line @backstage/no-undeclared-imports
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/** A JSON schema as parsed from YAML. */
export type JsonSchema = { [key: string]: unknown };

/** The conformance-kit files the render layer's output is checked against. */
export const CRD_FILES = {
  application: 'argocd/application-crd.yaml',
  appProject: 'argocd/appproject-crd.yaml',
  externalSecret: 'external-secrets/external-secrets.io_externalsecrets.yaml',
  secretStore: 'external-secrets/external-secrets.io_secretstores.yaml',
  serviceMonitor:
    'prometheus-operator/monitoring.coreos.com_servicemonitors.yaml',
} as const;

/**
 * The monorepo root: the nearest folder at or above `from` that holds
 * `yarn.lock`.
 */
// Test-only: runs from source under Jest, never from a production build,
// so __dirname is this folder of the checkout.
// eslint-disable-next-line no-restricted-syntax
export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'yarn.lock'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`No yarn.lock found in ${from} or any folder above it`);
    }
    dir = parent;
  }
}

/**
 * `<repo>/../shared/conformance`. Throws (so the calling test fails, never
 * skips) when the folder is missing.
 */
// eslint-disable-next-line no-restricted-syntax
export function conformanceDir(from: string = __dirname): string {
  const dir = path.resolve(repoRoot(from), '..', 'shared', 'conformance');
  if (!fs.existsSync(path.join(dir, 'README.md'))) {
    throw new Error(
      `Conformance kit not found at ${dir}: the upstream schemas must be checked out next to the repository (../shared/conformance, see its README.md). Schema tests cannot run without it.`,
    );
  }
  return dir;
}

/** The group, kind and served versions a CRD file declares. */
export interface CrdInfo {
  group: string;
  kind: string;
  versions: Array<{ name: string; served: boolean; storage: boolean }>;
}

const crdCache = new Map<string, any>();

function readCrd(file: string): any {
  const full = path.join(conformanceDir(), file);
  if (!crdCache.has(full)) {
    if (!fs.existsSync(full)) {
      throw new Error(
        `CRD file ${file} is missing from the conformance kit at ${full}`,
      );
    }
    crdCache.set(full, parse(fs.readFileSync(full, 'utf8')));
  }
  return crdCache.get(full);
}

/** Group, kind and versions of the CRD in `file` (relative to the kit). */
export function crdInfo(file: string): CrdInfo {
  const crd = readCrd(file);
  return {
    group: crd.spec.group,
    kind: crd.spec.names.kind,
    versions: crd.spec.versions.map((v: any) => ({
      name: v.name,
      served: Boolean(v.served),
      storage: Boolean(v.storage),
    })),
  };
}

/**
 * `spec.versions[name == version].schema.openAPIV3Schema` of the CRD in
 * `file` (relative to the kit). Throws unless that version is served.
 */
export function loadCrdSchema(file: string, version: string): JsonSchema {
  const crd = readCrd(file);
  const found = crd.spec.versions.find((v: any) => v.name === version);
  if (!found) {
    throw new Error(
      `${file} has no version ${version} (has ${crd.spec.versions
        .map((v: any) => v.name)
        .join(', ')})`,
    );
  }
  if (!found.served)
    throw new Error(`${file} version ${version} is not served`);
  return found.schema.openAPIV3Schema;
}

/**
 * A deep copy of `schema` in which every object schema that lists
 * `properties`, has no `additionalProperties` and is not marked
 * `x-kubernetes-preserve-unknown-fields` rejects unknown fields (the idea of
 * kubeconform's strict mode). Catches typos such as `selfheal`.
 */
export function strictify<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(item => strictify(item)) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(schema)) {
    // Property names are data, not schema keywords: copy the map and
    // strictify each property's schema.
    copy[key] =
      key === 'properties' && value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, strictify(v)]),
          )
        : strictify(value);
  }
  if (
    'properties' in copy &&
    !('additionalProperties' in copy) &&
    copy['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    copy.additionalProperties = false;
  }
  return copy as T;
}

/**
 * Ajv set up for Kubernetes OpenAPI schemas: `strict: false` for the
 * `x-kubernetes-*` keywords, ajv-formats for `date-time` and friends, the
 * integer formats as annotations, and non-unicode regexes because the
 * patterns are Go RE2 syntax.
 */
export function createAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  for (const format of ['int32', 'int64', 'float', 'double', 'byte']) {
    ajv.addFormat(format, true);
  }
  return ajv;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(e => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${
            (e.params as { additionalProperty: string }).additionalProperty
          })`
        : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}

/** Validates objects of one CRD kind. */
export interface CrdValidator {
  apiVersion: string;
  kind: string;
  /** Problems with `object` (empty when valid), including apiVersion/kind mismatches. */
  validate(object: unknown): string[];
}

/**
 * A validator for `<group>/<version>` objects of the CRD in `file`. With
 * `strict` (the default) the schema goes through {@link strictify}. The
 * schema does not pin apiVersion and kind, so they are checked here.
 */
export function crdValidator(
  file: string,
  version: string,
  options: { strict?: boolean; ajv?: Ajv } = {},
): CrdValidator {
  const info = crdInfo(file);
  const schema = loadCrdSchema(file, version);
  const ajv = options.ajv ?? createAjv();
  const compiled: ValidateFunction = ajv.compile(
    options.strict === false ? schema : strictify(schema),
  );
  const apiVersion = `${info.group}/${version}`;
  return {
    apiVersion,
    kind: info.kind,
    validate(object) {
      const problems: string[] = [];
      const o = object as { apiVersion?: unknown; kind?: unknown };
      if (o?.apiVersion !== apiVersion) {
        problems.push(
          `apiVersion is ${JSON.stringify(
            o?.apiVersion,
          )}, expected ${apiVersion}`,
        );
      }
      if (o?.kind !== info.kind) {
        problems.push(
          `kind is ${JSON.stringify(o?.kind)}, expected ${info.kind}`,
        );
      }
      if (!compiled(object)) problems.push(...describeErrors(compiled.errors));
      return problems;
    },
  };
}
