import { goldenPathConfigSchema } from '@internal/plugin-golden-path-node';
import { TEST_SETTINGS } from '../__testUtils__/goldenPathRun';
import { renderContext } from './context';
import { renderGitopsObjects } from './gitops';

const request = { name: 'payments-api', owner: 'group:default/team-a' };

describe('goldenPath.render.extraLabels', () => {
  const settings = { ...TEST_SETTINGS, extraLabels: { 'cost-center': 'cc-42', 'app.kubernetes.io/name': 'spoofed' } };
  const objects = renderGitopsObjects(renderContext(settings, request), { imageTag: 'initial' });

  it('labels every rendered object', () => {
    expect(objects.length).toBeGreaterThan(5);
    for (const { path, object } of objects) {
      expect([path, object.metadata.labels?.['cost-center']]).toEqual([path, 'cc-42']);
    }
  });

  it("never overrides the platform's own labels, nor changes a selector", () => {
    const plain = renderGitopsObjects(renderContext(TEST_SETTINGS, request), { imageTag: 'initial' });
    const deployment = (list: typeof objects) =>
      list.find(o => o.object.kind === 'Deployment')!.object as any;
    expect(deployment(objects).metadata.labels['app.kubernetes.io/name']).toBe('payments-api');
    expect(deployment(objects).spec.selector).toEqual(deployment(plain).spec.selector);
  });

  it('changes nothing when unset', () => {
    const ctx = renderContext(TEST_SETTINGS, request);
    expect(Object.keys(ctx.labels)).not.toContain('cost-center');
  });

  it.each([
    [{ 'cost-center': 'cc-42' }, true],
    [{ 'example.com/team': 'payments' }, true],
    [{ 'cost center': 'cc-42' }, false],
    [{ 'cost-center': 'has spaces' }, false],
    [{ 'cost-center': 'x'.repeat(64) }, false],
  ])('config accepts %j: %s', (extraLabels, valid) => {
    expect(goldenPathConfigSchema.shape.render.safeParse({ extraLabels }).success).toBe(valid);
  });
});
