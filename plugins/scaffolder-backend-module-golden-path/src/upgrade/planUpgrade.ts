import { SERVICE_RECORD_PATH } from '@internal/plugin-golden-path-common';
import {
  RecordedFile,
  ServiceRecord,
  renderedFileHash,
} from '../render/record';
import { ConflictLabels, merge3 } from './textDiff';

/**
 * What an upgrade does with one file of the GitOps repository, comparing
 * three versions: `main` (the repository now), the record (a hash of what
 * the platform rendered last time) and the new render.
 *
 * - `unchanged`: main already holds the new render;
 * - `create` / `update` / `delete`: the platform's file, untouched since it
 *   was rendered, becomes the new render (or goes away);
 * - `merged`: edited by hand and changed by the new render in different
 *   places; both kept;
 * - `conflict`: edited by hand where the new render changes it too; the
 *   file gets conflict markers for a person to resolve;
 * - `kept`: edited (or deleted) by hand, and the new render does not change
 *   it (or no longer renders it): the hand edit stays.
 */
export type FileOutcome =
  | { path: string; kind: 'unchanged' }
  | { path: string; kind: 'create' | 'update'; content: string }
  | { path: string; kind: 'delete' }
  | { path: string; kind: 'merged'; content: string }
  | { path: string; kind: 'conflict'; content: string; conflicts: number }
  | { path: string; kind: 'kept'; reason: string };

/** Outcomes that change the repository. */
export type FileChange = Extract<
  FileOutcome,
  { kind: 'create' | 'update' | 'delete' | 'merged' | 'conflict' }
>;

/** The inputs of {@link planUpgrade}. */
export interface UpgradeInputs {
  /** The record on main. */
  record: ServiceRecord;
  /** Content on main of every path that is rendered now or was rendered last time; undefined = absent. */
  main: Record<string, string | undefined>;
  /** The new render, its record included. */
  rendered: RecordedFile[];
  /**
   * What the platform rendered last time, for files edited by hand (see
   * {@link pathsNeedingBase}); a base whose hash is not the recorded one is
   * ignored.
   */
  bases?: Record<string, string | undefined>;
  labels: ConflictLabels;
}

/** True when main's copy of `path` is not what the platform last rendered. */
function editedByHand(
  record: ServiceRecord,
  path: string,
  content: string | undefined,
): boolean {
  const recorded = record.files[path];
  if (content === undefined) return recorded !== undefined;
  return recorded === undefined || renderedFileHash(path, content) !== recorded;
}

/** Every path an upgrade looks at: rendered now or last time. */
export function upgradePaths(
  record: ServiceRecord,
  rendered: RecordedFile[],
): string[] {
  return [
    ...new Set([...rendered.map(f => f.path), ...Object.keys(record.files)]),
  ].sort();
}

/**
 * Paths whose last render is needed for a three-way merge: edited by hand
 * since the last render, and changed by the new render.
 */
export function pathsNeedingBase(
  inputs: Pick<UpgradeInputs, 'record' | 'main' | 'rendered'>,
): string[] {
  const { record, main, rendered } = inputs;
  return rendered
    .filter(
      ({ path, content }) =>
        path !== SERVICE_RECORD_PATH &&
        record.files[path] !== undefined &&
        main[path] !== undefined &&
        main[path] !== content &&
        editedByHand(record, path, main[path]) &&
        renderedFileHash(path, content) !== record.files[path],
    )
    .map(f => f.path);
}

/**
 * Decides, per file, what the upgrade does (see {@link FileOutcome}). Pure.
 * Files the platform never rendered are not looked at; a hand edit is never
 * overwritten: it is kept, merged, or shown as a conflict.
 */
export function planUpgrade(inputs: UpgradeInputs): FileOutcome[] {
  const { record, main, rendered, bases = {}, labels } = inputs;
  const next = new Map(rendered.map(f => [f.path, f.content]));
  return upgradePaths(record, rendered).map((path): FileOutcome => {
    const current = main[path];
    const content = next.get(path);
    if (current === content) return { path, kind: 'unchanged' };
    if (path === SERVICE_RECORD_PATH) {
      // The record is the platform's alone; a new render always rewrites it.
      if (content === undefined) return { path, kind: 'unchanged' };
      return { path, kind: current === undefined ? 'create' : 'update', content };
    }
    const edited = editedByHand(record, path, current);
    if (content === undefined) {
      if (current === undefined) return { path, kind: 'unchanged' };
      return edited
        ? { path, kind: 'kept', reason: 'no longer rendered, but edited by hand: kept' }
        : { path, kind: 'delete' };
    }
    const renderChanged =
      record.files[path] === undefined ||
      renderedFileHash(path, content) !== record.files[path];
    if (!edited) {
      return { path, kind: current === undefined ? 'create' : 'update', content };
    }
    if (!renderChanged) {
      return {
        path,
        kind: 'kept',
        reason:
          current === undefined
            ? 'deleted by hand; the new render does not change it'
            : 'edited by hand; the new render does not change it',
      };
    }
    const base = bases[path];
    const validBase =
      base !== undefined &&
      record.files[path] !== undefined &&
      renderedFileHash(path, base) === record.files[path]
        ? base
        : undefined;
    const merged = merge3(validBase, current ?? '', content, labels);
    return merged.conflicts === 0
      ? { path, kind: 'merged', content: merged.text }
      : { path, kind: 'conflict', content: merged.text, conflicts: merged.conflicts };
  });
}

/** The outcomes that change the repository. */
export function changesOf(outcomes: FileOutcome[]): FileChange[] {
  return outcomes.filter(
    (o): o is FileChange =>
      o.kind === 'create' ||
      o.kind === 'update' ||
      o.kind === 'delete' ||
      o.kind === 'merged' ||
      o.kind === 'conflict',
  );
}
