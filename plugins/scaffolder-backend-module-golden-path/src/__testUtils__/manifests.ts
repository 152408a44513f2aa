/**
 * Test helper: one entry point that validates any object the render layer
 * generates, picking the right schema by apiVersion and kind.
 *
 * Test-only module: never import it from production code.
 */
import {
  CRD_FILES,
  CrdValidator,
  createAjv,
  crdValidator,
} from '@internal/plugin-golden-path-node/testUtils';
import { CORE_KIND_KEYS, validateCoreObject } from './kubernetesModels';

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Problems with a label or annotation key (`[prefix/]name`). */
export function qualifiedKeyProblems(key: string): string[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const problems: string[] = [];
  if (
    prefix !== undefined &&
    (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
  ) {
    problems.push(`key ${JSON.stringify(key)} has an invalid prefix`);
  }
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    problems.push(`key ${JSON.stringify(key)} has an invalid name part`);
  }
  return problems;
}

/**
 * Metadata rules the CRD schemas do not check (their `metadata` is a bare
 * object): the name is a DNS-1123 label (the strictest rule any of our kinds
 * has: Namespace and Service names), label keys and values and annotation
 * keys are well formed, and namespaced kinds have a namespace.
 */
export function metadataProblems(object: any): string[] {
  const problems: string[] = [];
  const meta = object?.metadata;
  if (!meta || typeof meta !== 'object') return ['metadata is missing'];
  if (
    typeof meta.name !== 'string' ||
    meta.name.length > 63 ||
    !DNS_LABEL.test(meta.name)
  ) {
    problems.push(
      `metadata.name ${JSON.stringify(meta.name)} is not a DNS-1123 label`,
    );
  }
  const clusterScoped = object.kind === 'Namespace';
  if (clusterScoped && meta.namespace !== undefined) {
    problems.push('a Namespace must not have metadata.namespace');
  }
  if (
    !clusterScoped &&
    (typeof meta.namespace !== 'string' || !DNS_LABEL.test(meta.namespace))
  ) {
    problems.push(
      `metadata.namespace ${JSON.stringify(
        meta.namespace,
      )} is not a namespace name`,
    );
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    problems.push(...qualifiedKeyProblems(key));
    if (
      typeof value !== 'string' ||
      value.length > 63 ||
      !LABEL_VALUE.test(value)
    ) {
      problems.push(
        `label ${key} has an invalid value ${JSON.stringify(value)}`,
      );
    }
  }
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    problems.push(...qualifiedKeyProblems(key));
    if (typeof value !== 'string')
      problems.push(`annotation ${key} is not a string`);
  }
  return problems;
}

/** Validates any generated object; returns its problems (empty when valid). */
export type ManifestValidator = (object: unknown) => string[];

/**
 * Builds the validator once (CRD schemas are large; compile them once per
 * test file). CRDs are validated strictly (unknown fields fail), core kinds
 * with kubernetes-models plus an unknown-field check.
 */
export function createManifestValidator(): ManifestValidator {
  const ajv = createAjv();
  const crds: CrdValidator[] = [
    crdValidator(CRD_FILES.application, 'v1alpha1', { ajv }),
    crdValidator(CRD_FILES.appProject, 'v1alpha1', { ajv }),
    crdValidator(CRD_FILES.externalSecret, 'v1', { ajv }),
    crdValidator(CRD_FILES.secretStore, 'v1', { ajv }),
    crdValidator(CRD_FILES.serviceMonitor, 'v1', { ajv }),
  ];
  return object => {
    const o = object as { apiVersion?: unknown; kind?: unknown };
    const crd = crds.find(
      c => c.apiVersion === o?.apiVersion && c.kind === o?.kind,
    );
    const key = `${String(o?.apiVersion)}/${String(o?.kind)}`;
    if (!crd && !CORE_KIND_KEYS.includes(key)) return [`no schema for ${key}`];
    const schemaProblems = crd
      ? crd.validate(object)
      : validateCoreObject(object);
    return [...schemaProblems, ...metadataProblems(object)];
  };
}
