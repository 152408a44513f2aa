import { mockServices } from '@backstage/backend-test-utils';
import { FakeWorld } from '../__testUtils__/fakeWorld';
import { describeRetired, retireProject } from './retire';

async function projectWithCredentials(world: FakeWorld) {
  const p = await world.gitlab.createProject({
    groupPath: 'apps',
    name: 'payments-api',
    description: '',
    topics: [],
  });
  await world.gitlab.setVariable(p.id, {
    key: 'AWS_ROLE_ARN',
    value: 'arn',
    masked: false,
    protected: false,
  });
  await world.gitlab.setVariable(p.id, {
    key: 'GITOPS_DEPLOY_TOKEN',
    value: 'x'.repeat(20),
    masked: true,
    protected: true,
  });
  await world.gitlab.createProjectAccessToken(p.id, {
    name: 't',
    scopes: ['api'],
    accessLevel: 40,
    expiresAt: '2027-01-01',
  });
  await world.gitlab.addPushHook(p.id, {
    url: 'https://argocd.test/api/webhook',
    branch: 'main',
    description: 'd',
  });
  return (await world.gitlab.findProject('apps/payments-api'))!;
}

describe('retireProject', () => {
  it('removes variables, tokens and webhooks before it archives the project', async () => {
    const world = new FakeWorld();
    const project = await projectWithCredentials(world);
    const from = world.calls.length;
    const logger = mockServices.logger.mock();
    const result = await retireProject(world.gitlab, project, {
      mode: 'archive',
      dryRun: false,
      logger,
    });
    const stored = world.projects.get('apps/payments-api')!;
    expect(stored).toMatchObject({ archived: true });
    expect(stored.variables.size).toBe(0);
    expect(stored.tokens).toEqual([]);
    expect(stored.hooks).toEqual([]);
    expect(stored.markedForDeletionOn ?? null).toBeNull();
    const calls = world.calls.slice(from);
    expect(calls.indexOf('gitlab.archiveProject')).toBe(calls.length - 1);
    expect(result.variables).toEqual(['AWS_ROLE_ARN', 'GITOPS_DEPLOY_TOKEN']);
    expect(describeRetired(result, 'archive')).toBe(
      `archived; removed CI/CD variables AWS_ROLE_ARN, GITOPS_DEPLOY_TOKEN; revoked access token ${result.tokens[0]}; removed 1 webhook`,
    );
    // Names of what was removed are logged; values never are.
    const logged = JSON.stringify(logger.info.mock.calls);
    expect(logged).toContain('GITOPS_DEPLOY_TOKEN');
    expect(logged).not.toContain('x'.repeat(20));
  });

  it("with delete, also schedules GitLab's delayed deletion", async () => {
    const world = new FakeWorld();
    const project = await projectWithCredentials(world);
    const result = await retireProject(world.gitlab, project, {
      mode: 'delete',
      dryRun: false,
      logger: mockServices.logger.mock(),
    });
    expect(world.projects.get('apps/payments-api')).toMatchObject({
      archived: true,
      markedForDeletionOn: expect.any(String),
    });
    expect(describeRetired(result, 'delete')).toContain(
      'scheduled for deletion (GitLab removes it after its retention period)',
    );
  });

  it('does nothing to a project retired already, and says so', async () => {
    const world = new FakeWorld();
    const project = await projectWithCredentials(world);
    const logger = mockServices.logger.mock();
    await retireProject(world.gitlab, project, {
      mode: 'archive',
      dryRun: false,
      logger,
    });
    const retired = (await world.gitlab.findProject('apps/payments-api'))!;
    const from = world.calls.length;
    const again = await retireProject(world.gitlab, retired, {
      mode: 'archive',
      dryRun: false,
      logger,
    });
    expect(
      world.calls.slice(from).filter(c => !c.startsWith('gitlab.list')),
    ).toEqual([]);
    expect(describeRetired(again, 'archive')).toBe(
      'already archived; nothing left in it',
    );
  });

  it('only reads in a dry run', async () => {
    const world = new FakeWorld();
    const project = await projectWithCredentials(world);
    const from = world.calls.length;
    const result = await retireProject(world.gitlab, project, {
      mode: 'archive',
      dryRun: true,
      logger: mockServices.logger.mock(),
    });
    expect(
      world.calls.slice(from).every(c => c.startsWith('gitlab.list')),
    ).toBe(true);
    expect(world.projects.get('apps/payments-api')!.variables.size).toBe(2);
    expect(describeRetired(result, 'archive', true)).toMatch(
      /^would be archived; would remove CI\/CD variables /,
    );
  });
});
