import {
  RENDER_VERSION,
  SERVICE_RECORD_PATH,
  recordedRenderVersion,
} from '@internal/plugin-golden-path-common';
import { TEST_SETTINGS } from '../__testUtils__/goldenPathRun';
import { renderContext } from './context';
import {
  DEPLOYMENT_MANIFEST_PATH,
  imageTagOf,
  parseServiceRecord,
  renderServiceRecord,
  renderedFileHash,
  withoutImageTag,
} from './record';

const ctx = renderContext(TEST_SETTINGS, {
  name: 'payments-api',
  owner: 'group:default/team-a',
  description: 'Takes payments',
  runtime: { name: 'python', healthPath: '/healthz' },
});
const image = (tag: string) =>
  `spec:\n  containers:\n    - name: app\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:${tag}\n`;
const files = [
  { path: 'README.md', content: '# payments-api-gitops\n' },
  { path: DEPLOYMENT_MANIFEST_PATH, content: image('initial') },
];

describe('the service record', () => {
  it('records the render version, the validated request, the runtime and a hash per file', () => {
    const record = parseServiceRecord(renderServiceRecord(ctx, files).content);
    expect(record.renderVersion).toBe(RENDER_VERSION);
    expect(record.request).toEqual(ctx.request);
    expect(record.runtime).toEqual(ctx.runtime);
    expect(record.runtime.healthPath).toBe('/healthz');
    expect(Object.keys(record.files)).toEqual(['README.md', DEPLOYMENT_MANIFEST_PATH]);
    expect(record.files['README.md']).toBe(renderedFileHash('README.md', files[0].content));
  });

  it('is written at its path, byte-identical for the same input, and readable by the status route', () => {
    const first = renderServiceRecord(ctx, files);
    expect(first.path).toBe(SERVICE_RECORD_PATH);
    expect(renderServiceRecord(ctx, [...files].reverse()).content).toBe(first.content);
    expect(recordedRenderVersion(first.content)).toBe(RENDER_VERSION);
    expect(renderServiceRecord(ctx, files, 7).content).not.toBe(first.content);
    expect(recordedRenderVersion(renderServiceRecord(ctx, files, 7).content)).toBe(7);
  });

  it('hashes the deployment without its image tag, so a release by CI is not an edit', () => {
    expect(renderedFileHash(DEPLOYMENT_MANIFEST_PATH, image('initial'))).toBe(
      renderedFileHash(DEPLOYMENT_MANIFEST_PATH, image('0a1b2c3d')),
    );
    expect(renderedFileHash(DEPLOYMENT_MANIFEST_PATH, image('initial'))).not.toBe(
      renderedFileHash(DEPLOYMENT_MANIFEST_PATH, `${image('initial')}# edited\n`),
    );
    // Only the deployment's image line is special.
    expect(withoutImageTag('manifests/other.yaml', image('x'))).toBe(image('x'));
  });

  it.each([
    [image('0a1b2c3d'), '0a1b2c3d'],
    [image('v1.2.3_rc-1'), 'v1.2.3_rc-1'],
    ['spec: {}\n', undefined],
    ['    image: registry.example.com:5000/payments-api:7\n', '7'],
  ])('reads the image tag of %j', (yaml, tag) => {
    expect(imageTagOf(yaml)).toBe(tag);
  });

  it.each([
    ['not json', /is not JSON/],
    ['[]', /not a JSON object/],
    ['{"renderVersion":0,"request":{"name":"a"},"runtime":{},"files":{}}', /renderVersion must be a positive integer/],
    ['{"renderVersion":1,"request":{},"runtime":{},"files":{}}', /request must be an object with a name/],
    ['{"renderVersion":1,"request":{"name":"a"},"files":{}}', /runtime must be an object/],
    ['{"renderVersion":1,"request":{"name":"a"},"runtime":{},"files":{"a":"nothex"}}', /files must map paths to sha256 hashes/],
  ])('refuses the record %j', (text, message) => {
    expect(() => parseServiceRecord(text)).toThrow(message);
  });
});
