import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:argocd:application:ensure', () => {
  it('runs its examples: the project and the application, both marked with the run', async () => {
    const h = goldenPathHarness();
    expect(await h.runExamples('idp:argocd:application:ensure', false)).toBe(1);
    expect(h.world.argoProjects.get('payments-api')!.metadata.labels['golden-path-idp/run']).toMatch(/^[0-9a-f]{32}$/);
    expect(h.world.argoApps.get('payments-api')!.spec.project).toBe('payments-api');
    expect(h.outputs['idp:argocd:application:ensure.argocdAppUrl']).toBe(
      'https://argocd.test/applications/argocd/payments-api',
    );
    expect(h.logged()).toEqual(
      expect.arrayContaining(['Created ArgoCD project payments-api', 'Created ArgoCD application payments-api']),
    );
    h.cleanup();
  });
});
