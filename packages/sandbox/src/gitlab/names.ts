/**
 * GitLab's rules for group and project paths and names, with its error
 * messages (Gitlab::PathRegex, ProjectPathValidator).
 */

export const PATH_FORMAT_MESSAGE =
  "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";
export const PATH_SPECIAL_MESSAGE =
  'must not start or end with a special character and must not contain consecutive special characters.';
export const NAME_MESSAGE =
  "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'.";

/**
 * Project paths GitLab reserves because they clash with its routes below a
 * project (`Gitlab::PathRegex::PROJECT_WILDCARD_ROUTES`, one-segment ones).
 */
export const RESERVED_PROJECT_PATHS = new Set([
  '-',
  'badges',
  'blame',
  'blob',
  'builds',
  'commits',
  'create',
  'create_dir',
  'edit',
  'files',
  'find_file',
  'new',
  'preview',
  'raw',
  'refs',
  'tree',
  'update',
  'upload',
  'wikis',
]);

/** Top-level group paths GitLab reserves (a selection of `TOP_LEVEL_ROUTES`). */
export const RESERVED_GROUP_PATHS = new Set([
  '-',
  '.well-known',
  'admin',
  'api',
  'assets',
  'dashboard',
  'explore',
  'groups',
  'help',
  'import',
  'jwt',
  'login',
  'oauth',
  'profile',
  'projects',
  'public',
  'search',
  'sent_notifications',
  'slash-command-logo.png',
  'snippets',
  'unsubscribes',
  'uploads',
  'users',
  'v2',
]);

/** The `path` errors GitLab would report for a project or group path (empty: valid). */
export function pathErrors(p: string, kind: 'project' | 'group', topLevel = false): string[] {
  const errors: string[] = [];
  if (p.length > 255) errors.push('is too long (maximum is 255 characters)');
  if (!/^[a-zA-Z0-9_.-]+$/.test(p) || p.startsWith('-') || /\.(git|atom)$/i.test(p)) {
    errors.push(PATH_FORMAT_MESSAGE);
  } else if (/^[._-]|[._-]$|[._-]{2}/.test(p)) {
    errors.push(PATH_SPECIAL_MESSAGE);
  }
  const reserved =
    (kind === 'project' && RESERVED_PROJECT_PATHS.has(p.toLowerCase())) ||
    (kind === 'group' && topLevel && RESERVED_GROUP_PATHS.has(p.toLowerCase()));
  if (reserved) errors.push(`${p} is a reserved name`);
  return errors;
}

/** Whether GitLab accepts `name` as a project name. */
export function isValidProjectName(name: string): boolean {
  return name.length <= 255 && /^[\p{L}\p{N}\p{Extended_Pictographic}_][\p{L}\p{N}\p{Extended_Pictographic}_.+\- ]*$/u.test(name);
}
