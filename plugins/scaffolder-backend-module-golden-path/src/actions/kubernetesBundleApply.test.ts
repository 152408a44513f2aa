import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:kubernetes:bundle:apply', () => {
  it('runs its examples: creates the namespace, applies its guard rails, lists them', async () => {
    const h = goldenPathHarness();
    expect(await h.runExamples('idp:kubernetes:bundle:apply', false)).toBe(1);
    expect(h.world.calls[0]).toBe('kubernetes.namespaceLabels');
    expect(h.world.calls).toContain('kubernetes.createNamespace');
    const objects = h.outputs['idp:kubernetes:bundle:apply.objects'] as string[];
    expect(objects[0]).toBe('Namespace/payments-api');
    expect(objects).toEqual(expect.arrayContaining(['RoleBinding/payments-api-read-only']));
    expect(h.logged()).toContain(`Applied ${objects.join(', ')}`);
    h.cleanup();
  });
});
