import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import {
  RENDER_VERSION,
  SERVICE_RECORD_PATH,
  ServiceRequest,
} from '@internal/plugin-golden-path-common';
import { GITOPS_MANIFESTS_PATH } from './argocd';
import { RenderContext } from './context';
import { IMAGE_TAG_PATTERN } from './input';
import { RuntimeProfile } from './runtime';

/** The manifest whose image tag the app's CI rewrites on every release. */
export const DEPLOYMENT_MANIFEST_PATH = `${GITOPS_MANIFESTS_PATH}/deployment.yaml`;

/**
 * What a GitOps repository was rendered from, kept in the repository itself
 * ({@link SERVICE_RECORD_PATH}): the render version, the validated request
 * and the template's runtime profile (enough to render the repository again
 * with a newer render layer), and a hash of every file as the platform
 * rendered it (to tell a file edited by hand from one the platform wrote).
 */
export interface ServiceRecord {
  renderVersion: number;
  request: ServiceRequest;
  runtime: RuntimeProfile;
  /** Path → {@link renderedFileHash} of the file as rendered. */
  files: Record<string, string>;
}

/** Any text file, as the record hashes it. */
export interface RecordedFile {
  path: string;
  content: string;
}

/**
 * The `image:` line CI rewrites (`sed "s|^    image: <repo>:.*|…|"`): the
 * reference up to the last `:` and the tag after it.
 */
const IMAGE_LINE = new RegExp(
  `^(\\s+image: \\S+:)(${IMAGE_TAG_PATTERN.slice(1, -1)})$`,
  'gm',
);

/**
 * The file's content with the deployment's image tag replaced by a
 * placeholder: a release by CI is not an edit by hand, so the record's hash
 * must not change with the tag.
 */
export function withoutImageTag(path: string, content: string): string {
  if (path !== DEPLOYMENT_MANIFEST_PATH) return content;
  return content.replace(IMAGE_LINE, '$1<image-tag>');
}

/** The image tag the deployment manifest runs, or undefined when it has no recognisable image line. */
export function imageTagOf(deploymentYaml: string): string | undefined {
  const match = new RegExp(IMAGE_LINE.source, 'm').exec(deploymentYaml);
  return match?.[2];
}

/** sha256 (hex) of a rendered file, ignoring the image tag (see {@link withoutImageTag}). */
export function renderedFileHash(path: string, content: string): string {
  return createHash('sha256')
    .update(withoutImageTag(path, content), 'utf8')
    .digest('hex');
}

/**
 * The record file for the rendered GitOps repository `files`. Pure: the
 * same context and files always give the same bytes.
 */
export function renderServiceRecord(
  ctx: RenderContext,
  files: RecordedFile[],
  renderVersion: number = RENDER_VERSION,
): RecordedFile {
  const hashes = Object.fromEntries(
    files
      .filter(f => f.path !== SERVICE_RECORD_PATH)
      .map(f => [f.path, renderedFileHash(f.path, f.content)] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const record = {
    $comment:
      'Written by the golden path: what this repository was rendered from. The platform reads it to upgrade the repository to the current golden path; do not edit it.',
    renderVersion,
    request: ctx.request,
    runtime: ctx.runtime,
    files: hashes,
  };
  return {
    path: SERVICE_RECORD_PATH,
    content: `${JSON.stringify(record, null, 2)}\n`,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a record. Throws InputError saying what is wrong; the request and
 * runtime are validated again when they are rendered.
 */
export function parseServiceRecord(text: string): ServiceRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${SERVICE_RECORD_PATH} is not JSON: ${(error as Error).message}`,
    );
  }
  const problem = (what: string) =>
    new InputError(`${SERVICE_RECORD_PATH} is not a golden-path record: ${what}`);
  if (!isObject(data)) throw problem('not a JSON object');
  const { renderVersion, request, runtime, files } = data;
  if (
    typeof renderVersion !== 'number' ||
    !Number.isInteger(renderVersion) ||
    renderVersion < 1
  ) {
    throw problem('renderVersion must be a positive integer');
  }
  if (!isObject(request) || typeof request.name !== 'string') {
    throw problem('request must be an object with a name');
  }
  if (!isObject(runtime)) throw problem('runtime must be an object');
  if (
    !isObject(files) ||
    !Object.values(files).every(
      h => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h),
    )
  ) {
    throw problem('files must map paths to sha256 hashes');
  }
  return {
    renderVersion,
    request: request as unknown as ServiceRequest,
    runtime: runtime as unknown as RuntimeProfile,
    files: files as Record<string, string>,
  };
}
