import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:platform:name:validate', () => {
  it('runs its examples and outputs every derived name without external calls', async () => {
    const h = goldenPathHarness(undefined, undefined, { settings: exampleSettings });
    expect(await h.runExamples('idp:platform:name:validate', false)).toBe(1);
    expect(h.world.calls).toEqual([]);
    expect(h.outputs).toEqual({
      'idp:platform:name:validate.appRepoPath': 'apps/payments-api',
      'idp:platform:name:validate.gitopsRepoPath': 'platform/gitops/payments-api-gitops',
      'idp:platform:name:validate.namespace': 'payments-api',
      'idp:platform:name:validate.ecrRepository': 'payments-api',
      'idp:platform:name:validate.appRepoUrl': 'https://gitlab.example.com/apps/payments-api',
      'idp:platform:name:validate.pipelinesUrl': 'https://gitlab.example.com/apps/payments-api/-/pipelines',
      'idp:platform:name:validate.gitopsRepoUrl': 'https://gitlab.example.com/platform/gitops/payments-api-gitops',
      'idp:platform:name:validate.argocdAppUrl': 'https://argocd.example.com/applications/argocd/payments-api',
      'idp:platform:name:validate.liveUrl': 'https://payments-api.apps.example.com',
    });
    h.cleanup();
  });

  it.each([
    ['Payments', 'contains uppercase letters'],
    ['pay--ments', 'contains "--"'],
    ['default', 'is reserved'],
  ])('refuses %p naming the field and the rule', async (name, why) => {
    const h = goldenPathHarness();
    await expect(
      h.runStep('idp:platform:name:validate', { name }, 't'),
    ).rejects.toThrow(`name "${name}" ${why}`);
    h.cleanup();
  });
});
