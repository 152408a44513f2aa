import { mockCredentials } from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { serviceUpgradePermission } from '@internal/plugin-golden-path-common';
import yaml from 'yaml';
import { createUpgradeAccess } from '../upgrade/access';
import { ServiceUpgradeResult, UpgradeTarget } from '../upgrade/ServiceUpgrader';
import { createPlatformServiceUpgradeAction } from './platformServiceUpgrade';

const target = (name: string): UpgradeTarget => ({
  name,
  entityRef: `component:default/${name}`,
  marker: `m-${name}`,
});
const SERVICES = [target('orders-api'), target('payments-api')];

/** The fake upgrader opens the first service's MR and fails the second. */
function statusOf(index: number, dryRun: boolean): ServiceUpgradeResult['status'] {
  if (dryRun) return 'would-upgrade';
  return index === 0 ? 'opened' : 'failed';
}

function setup(opts: { denied?: boolean } = {}) {
  const calls: Array<{ targets: string[]; dryRun: boolean }> = [];
  const checked: Array<{ targets: string[]; scope: string }> = [];
  const action = createPlatformServiceUpgradeAction({
    services: {
      list: async () => SERVICES,
      get: async name => SERVICES.find(s => s.name === name),
    },
    access: async (_credentials, targets, scope) => {
      checked.push({ targets: targets.map(t => t.name), scope });
      if (opts.denied) throw new NotAllowedError('no');
    },
    upgrader: {
      upgradeAll: async (targets, { dryRun }) => {
        calls.push({ targets: targets.map(t => t.name), dryRun });
        return targets.map(
          (t, i): ServiceUpgradeResult => ({
            service: t.name,
            entityRef: t.entityRef,
            status: statusOf(i, dryRun),
            detail: i === 0 ? 'Opened merge request !1 (2 file change(s))' : 'GitLab is down',
            mergeRequest: i === 0 && !dryRun ? { iid: 1, url: 'https://gitlab.test/mr/1' } : undefined,
            files: [],
            platform: [],
            diff: dryRun ? '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n' : undefined,
          }),
        );
      },
    },
  });
  const run = async (input: Record<string, unknown>, isDryRun = false) => {
    const outputs: Record<string, any> = {};
    const ctx = createMockActionContext({ input: input as any, isDryRun });
    await action.handler({
      ...ctx,
      isDryRun,
      output: (k: string, v: unknown) => {
        outputs[k] = v;
      },
      getInitiatorCredentials: async () => mockCredentials.user('user:default/ada'),
    } as any);
    return outputs;
  };
  return { action, calls, checked, run };
}

describe('idp:platform:service:upgrade', () => {
  it('upgrades one service after checking the user may, and reports per service', async () => {
    const { run, calls, checked } = setup();
    const out = await run({ name: 'payments-api' });
    expect(checked).toEqual([{ targets: ['payments-api'], scope: 'one' }]);
    expect(calls).toEqual([{ targets: ['payments-api'], dryRun: false }]);
    expect(out.summary).toBe('1 MR opened');
    expect(out.results).toEqual([
      {
        service: 'payments-api',
        status: 'opened',
        detail: 'Opened merge request !1 (2 file change(s))',
        mergeRequestUrl: 'https://gitlab.test/mr/1',
      },
    ]);
    expect(out.report).toContain('| payments-api | MR opened [!1](https://gitlab.test/mr/1) |');
  });

  it('walks every golden-path service in all mode, a failure reported beside the others', async () => {
    const { run, calls, checked } = setup();
    const out = await run({ all: true });
    expect(checked).toEqual([{ targets: ['orders-api', 'payments-api'], scope: 'all' }]);
    expect(calls[0].targets).toEqual(['orders-api', 'payments-api']);
    expect(out.results.map((r: any) => r.status)).toEqual(['opened', 'failed']);
    expect(out.summary).toBe('1 MR opened, 1 FAILED');
    expect(out.report).toContain('| payments-api | FAILED |  | GitLab is down |');
  });

  it.each([
    [{ dryRun: true }, false],
    [{}, true],
  ])('prints the diff and changes nothing in a dry run (input %j, template editor %s)', async (extra, isDryRun) => {
    const { run, calls } = setup();
    const out = await run({ name: 'payments-api', ...extra }, isDryRun);
    expect(calls).toEqual([{ targets: ['payments-api'], dryRun: true }]);
    expect(out.report).toContain('```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```');
  });

  it.each([
    [{}, /Name the service to upgrade/],
    [{ name: 'payments-api', all: true }, /not both/],
    [{ name: 'Payments' }, /name/],
    [{ name: 'ghost-api' }, /component:default\/ghost-api is not a golden-path service/],
  ])('refuses %j before anything is checked or changed', async (input, message) => {
    const { run, calls } = setup();
    await expect(run(input)).rejects.toThrow(message);
    expect(calls).toEqual([]);
  });

  it('changes nothing when the user may not upgrade', async () => {
    const { run, calls } = setup({ denied: true });
    await expect(run({ all: true })).rejects.toThrow(NotAllowedError);
    expect(calls).toEqual([]);
  });

  it('has examples that are valid steps of this action', () => {
    const { action } = setup();
    for (const example of action.examples ?? []) {
      const [step] = yaml.parse(example.example).steps;
      expect(step.action).toBe('idp:platform:service:upgrade');
    }
  });
});

describe('createUpgradeAccess', () => {
  const roles = { platformAdmins: ['group:default/platform-admins'], developers: 'any-group' } as any;
  const userInfo = (groups: string[]) => ({
    getUserInfo: async () => ({ userEntityRef: 'user:default/bob', ownershipEntityRefs: groups }),
  });
  const permissions = (allowed: string[]) => {
    const asked: any[] = [];
    return {
      asked,
      authorize: async (requests: any[]) => {
        asked.push(...requests);
        return requests.map(r => ({
          result: allowed.includes(r.resourceRef) ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
        }));
      },
    };
  };

  it('asks the permission policy about each service, with the upgrade permission', async () => {
    const perms = permissions(['component:default/payments-api']);
    const access = createUpgradeAccess({ permissions: perms as any, userInfo: userInfo(['group:default/team-a']) as any, roles });
    await access(mockCredentials.user('user:default/bob'), [target('payments-api')], 'one');
    expect(perms.asked).toEqual([
      { permission: serviceUpgradePermission, resourceRef: 'component:default/payments-api' },
    ]);
    await expect(
      access(mockCredentials.user('user:default/bob'), [target('orders-api')], 'one'),
    ).rejects.toThrow(/You may not upgrade component:default\/orders-api: only its owners and platform admins may/);
  });

  it('lets only platform admins upgrade every service', async () => {
    const perms = permissions(SERVICES.map(s => s.entityRef));
    const developer = createUpgradeAccess({ permissions: perms as any, userInfo: userInfo(['group:default/team-a']) as any, roles });
    await expect(developer(mockCredentials.user(), SERVICES, 'all')).rejects.toThrow(/for platform admins/);
    expect(perms.asked).toEqual([]);
    const admin = createUpgradeAccess({
      permissions: perms as any,
      userInfo: userInfo(['group:default/platform-admins']) as any,
      roles,
    });
    await expect(admin(mockCredentials.user(), SERVICES, 'all')).resolves.toBeUndefined();
  });

  it('refuses a caller that is not a user', async () => {
    const access = createUpgradeAccess({ permissions: permissions([]) as any, userInfo: userInfo([]) as any, roles });
    await expect(access(mockCredentials.service(), [], 'one')).rejects.toThrow(/signed-in user/);
  });
});
