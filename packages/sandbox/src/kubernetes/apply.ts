/**
 * A small model of server-side apply: field ownership per manager
 * (`metadata.managedFields`, in the real FieldsV1 format), conflicts with
 * other managers unless forced, removal of fields a manager stops
 * applying, and merge patches (`Update` operations).
 *
 * Simplifications: maps merge key by key, lists are atomic (a list is
 * one field, replaced whole), and `null` in an applied object is ignored.
 */

export type Json = Record<string, any>;
/** A field path: the keys from the object's root to a leaf. */
type FieldPath = string[];

/** One entry of `metadata.managedFields`. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Json;
}

interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  paths: FieldPath[];
}

/** A field owned by another manager with a different value. */
export interface FieldConflict {
  manager: string;
  apiVersion: string;
  /** `.spec.podSelector` */
  field: string;
}

export class ApplyConflictError extends Error {
  constructor(readonly conflicts: FieldConflict[]) {
    const list = conflicts.map(c => `conflict with "${c.manager}" using ${c.apiVersion}: ${c.field}`);
    super(
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${list[0]}`
        : `Apply failed with ${conflicts.length} conflicts: ${list.join('\n')}`,
    );
  }
}

/** Set by the server, never owned by a manager. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
]);

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map(k => [k, sort(v[k])]));
    return v;
  };
  return JSON.stringify(sort(value) ?? null);
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The leaf fields `value` sets (maps recursed, lists and scalars are leaves). */
function leafPaths(value: unknown, prefix: FieldPath = []): FieldPath[] {
  if (isObject(value) && (Object.keys(value).length > 0 || prefix.length === 0)) {
    return Object.entries(value).flatMap(([k, v]) => {
      if (v === undefined || v === null) return [];
      if (prefix.length === 0 && (k === 'apiVersion' || k === 'kind' || k === 'status')) return [];
      if (prefix.length === 1 && prefix[0] === 'metadata' && SERVER_METADATA.has(k)) return [];
      return leafPaths(v, [...prefix, k]);
    });
  }
  return [prefix];
}

const pathKey = (p: FieldPath) => JSON.stringify(p);
const fieldName = (p: FieldPath) => `.${p.join('.')}`;

function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function getAt(obj: unknown, p: FieldPath): unknown {
  let node: unknown = obj;
  for (const k of p) {
    if (!isObject(node)) return undefined;
    node = node[k];
  }
  return node;
}

function setAt(obj: Json, p: FieldPath, value: unknown) {
  let node = obj;
  for (const k of p.slice(0, -1)) {
    if (!isObject(node[k])) node[k] = {};
    node = node[k];
  }
  node[p[p.length - 1]] = structuredClone(value);
}

/** Deletes the field, and the maps it leaves empty (below the top level). */
function deleteAt(obj: Json, p: FieldPath) {
  const parents: Json[] = [];
  let node: unknown = obj;
  for (const k of p.slice(0, -1)) {
    if (!isObject(node)) return;
    parents.push(node);
    node = node[k];
  }
  if (!isObject(node)) return;
  delete node[p[p.length - 1]];
  for (let i = p.length - 2; i >= 1; i--) {
    const child = parents[i][p[i]];
    if (isObject(child) && Object.keys(child).length === 0) delete parents[i][p[i]];
    else break;
  }
}

function toFieldsV1(paths: FieldPath[]): Json {
  const root: Json = {};
  for (const p of paths) {
    let node = root;
    for (const k of p) {
      node[`f:${k}`] ??= {};
      node = node[`f:${k}`];
    }
  }
  return root;
}

function fromFieldsV1(tree: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isObject(tree)) return prefix.length ? [prefix] : [];
  const children = Object.keys(tree).filter(k => k.startsWith('f:'));
  if (children.length === 0) return prefix.length ? [prefix] : [];
  return children.flatMap(k => fromFieldsV1(tree[k], [...prefix, k.slice(2)]));
}

function readOwnership(object: Json | undefined): Ownership[] {
  const entries: unknown = object?.metadata?.managedFields;
  if (!Array.isArray(entries)) return [];
  return entries.filter(isObject).map(e => ({
    manager: String(e.manager ?? ''),
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(e.apiVersion ?? ''),
    time: String(e.time ?? ''),
    paths: fromFieldsV1(e.fieldsV1),
  }));
}

function writeOwnership(entries: Ownership[]): ManagedFieldsEntry[] {
  return entries
    .filter(e => e.paths.length > 0)
    .map(e => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(e.paths),
    }));
}

function withoutManagedFields(object: Json | undefined): unknown {
  if (!object) return undefined;
  const { managedFields: _m, ...metadata } = object.metadata ?? {};
  return { ...object, metadata };
}

/** The object after a change, and whether anything changed at all. */
export interface ChangeResult {
  object: Json;
  changed: boolean;
}

/**
 * Server-side apply of `applied` by `manager` onto `current` (undefined =
 * create). Throws ApplyConflictError when another manager owns a field
 * with a different value, unless `force` (then the field changes hands).
 */
export function serverSideApply(
  current: Json | undefined,
  applied: Json,
  opts: { manager: string; force: boolean; now: string },
): ChangeResult {
  const object: Json = current
    ? structuredClone(current)
    : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const owners = readOwnership(current);
  const mine = owners.find(o => o.manager === opts.manager && o.operation === 'Apply');
  const others = owners.filter(o => o !== mine);
  const newPaths = leafPaths(applied);
  const newKeys = new Set(newPaths.map(pathKey));

  const conflicts: FieldConflict[] = [];
  for (const other of others) {
    const kept: FieldPath[] = [];
    for (const q of other.paths) {
      const conflicting =
        newKeys.has(pathKey(q)) && current !== undefined && !sameJson(getAt(current, q), getAt(applied, q));
      if (conflicting) conflicts.push({ manager: other.manager, apiVersion: other.apiVersion, field: fieldName(q) });
      if (!(conflicting && opts.force)) kept.push(q);
    }
    other.paths = kept;
  }
  if (conflicts.length > 0 && !opts.force) throw new ApplyConflictError(conflicts);

  // Fields this manager applied before and no longer does, owned by no one else, go.
  for (const p of mine?.paths ?? []) {
    if (newKeys.has(pathKey(p))) continue;
    if (others.some(o => o.paths.some(q => overlaps(p, q)))) continue;
    deleteAt(object, p);
  }
  for (const p of newPaths) setAt(object, p, getAt(applied, p));

  const changedObject = !sameJson(withoutManagedFields(current), withoutManagedFields(object));
  const sameOwnership =
    mine !== undefined &&
    mine.apiVersion === applied.apiVersion &&
    sameJson([...mine.paths.map(pathKey)].sort(), [...newKeys].sort()) &&
    !(opts.force && conflicts.length > 0);
  if (current && !changedObject && sameOwnership) return { object: current, changed: false };

  const entry: Ownership = {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: String(applied.apiVersion),
    time: opts.now,
    paths: newPaths,
  };
  const entries = mine ? owners.map(o => (o === mine ? entry : o)) : [...owners, entry];
  object.metadata = { ...object.metadata, managedFields: writeOwnership(entries) };
  return { object, changed: true };
}

/**
 * JSON merge patch (RFC 7386) by `manager` (an `Update`): maps merge,
 * `null` deletes, lists are replaced. The fields it sets change hands.
 */
export function mergePatch(
  current: Json,
  patch: Json,
  opts: { manager: string; now: string },
): ChangeResult {
  const merge = (target: unknown, p: unknown): unknown => {
    if (!isObject(p)) return structuredClone(p);
    const out: Json = isObject(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(p)) {
      if (v === null) delete out[k];
      else out[k] = merge(out[k], v);
    }
    return out;
  };
  const object = merge(current, patch) as Json;
  object.metadata = { ...object.metadata };
  for (const k of SERVER_METADATA) {
    if (k === 'managedFields') continue;
    if (current.metadata?.[k] === undefined) delete object.metadata[k];
    else object.metadata[k] = current.metadata[k];
  }
  object.apiVersion = current.apiVersion;
  object.kind = current.kind;
  if (!sameJson(withoutManagedFields(current), withoutManagedFields(object))) {
    const setPaths = leafPaths(patch);
    const owners = readOwnership(current);
    for (const o of owners) {
      o.paths = o.paths.filter(q => getAt(object, q) !== undefined && !setPaths.some(p => overlaps(p, q)));
    }
    const mine = owners.find(o => o.manager === opts.manager && o.operation === 'Update');
    const paths = [...(mine?.paths ?? []), ...setPaths.filter(p => getAt(object, p) !== undefined)];
    const entry: Ownership = {
      manager: opts.manager,
      operation: 'Update',
      apiVersion: String(current.apiVersion),
      time: opts.now,
      paths,
    };
    const entries = mine ? owners.map(o => (o === mine ? entry : o)) : [...owners, entry];
    object.metadata.managedFields = writeOwnership(entries);
    return { object, changed: true };
  }
  return { object: current, changed: false };
}

/** The ownership record of a newly created object (`POST`), as an `Update`. */
export function createdManagedFields(object: Json, manager: string, now: string): ManagedFieldsEntry[] {
  return writeOwnership([
    { manager, operation: 'Update', apiVersion: String(object.apiVersion), time: now, paths: leafPaths(object) },
  ]);
}
