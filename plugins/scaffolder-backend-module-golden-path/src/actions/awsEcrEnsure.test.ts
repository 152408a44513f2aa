import { TEST_SETTINGS, goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:aws:ecr:ensure', () => {
  it('runs its examples: repository and policy, and with ciCredentials a CI role, no key', async () => {
    const h = goldenPathHarness();
    // The CI-user example stores its key in the app repository: make it first.
    await h.runStep('idp:gitlab:repositories:ensure', { name: 'payments-api', owner: 'group:default/a', sourcePath: 'app' }, 'task-examples');
    expect(await h.runExamples('idp:aws:ecr:ensure', false)).toBe(2);
    expect(h.world.repositories.has('payments-api')).toBe(true);
    expect(h.world.policies.has('idp-payments-api-ecr-push-pull')).toBe(true);
    expect(h.outputs['idp:aws:ecr:ensure.policyArn']).toBe(
      'arn:aws:iam::123456789012:policy/idp-payments-api-ecr-push-pull',
    );
    expect(h.logged()).toContain('Created IAM role idp-payments-api-ci');
    expect(h.world.users.size).toBe(0);
    h.cleanup();
  });

  it('with ciAuth static-key, makes a user behind the boundary whose key goes to GitLab only', async () => {
    const h = goldenPathHarness(undefined, undefined, {
      settings: { ...TEST_SETTINGS, ciAuth: 'static-key' },
    });
    await h.runStep('idp:gitlab:repositories:ensure', { name: 'payments-api', owner: 'group:default/a', sourcePath: 'app' }, 'task-examples');
    expect(await h.runExamples('idp:aws:ecr:ensure', false)).toBe(2);
    expect(h.world.users.get('idp-payments-api-ci')!.boundaryArn).toBe(
      'arn:aws:iam::123456789012:policy/idp-permissions-boundary',
    );
    expect(h.logged()).toContain(
      'IAM user idp-payments-api-ci ready; key stored as masked, hidden variables of apps/payments-api',
    );
    h.cleanup();
  });

  it('outputs realistic ARNs in a dry run without calls', async () => {
    const h = goldenPathHarness();
    await h.runExamples('idp:aws:ecr:ensure', true);
    expect(h.world.calls).toEqual([]);
    expect(h.outputs['idp:aws:ecr:ensure.repositoryArn']).toBe(
      'arn:aws:ecr:eu-west-1:123456789012:repository/payments-api',
    );
    h.cleanup();
  });
});
