import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

const url = 'https://gitlab.example.com/apps/payments-api/-/blob/main/catalog-info.yaml';

describe('idp:catalog:entity:register', () => {
  it('runs its examples: registers, completes the run, and logs the entity ref', async () => {
    const h = goldenPathHarness(undefined, undefined, { settings: exampleSettings });
    expect(await h.runExamples('idp:catalog:entity:register', false)).toBe(1);
    expect(h.outputs['idp:catalog:entity:register.entityRef']).toBe('component:default/payments-api');
    expect(h.logged()).toContain(`Registered ${url} in the catalog as component:default/payments-api`);
    const { store } = await h.ready;
    expect((await store.get('task-examples'))!.state).toBe('completed');
    h.cleanup();
  });

  it("refuses a URL that is not the service's own catalog-info.yaml", async () => {
    const h = goldenPathHarness(undefined, undefined, { settings: exampleSettings });
    await expect(
      h.runStep('idp:catalog:entity:register', { name: 'payments-api', catalogInfoUrl: 'https://gitlab.example.com/apps/other/-/blob/main/catalog-info.yaml' }, 't'),
    ).rejects.toThrow(`catalogInfoUrl must be the catalog-info.yaml of the service's app repository, ${url}`);
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });
});
