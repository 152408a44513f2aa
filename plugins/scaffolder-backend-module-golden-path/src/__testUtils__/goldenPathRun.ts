import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createGoldenPathActions } from '../actions';
import { PlatformSettings } from '../render/types';
import { SagaJournals } from '../saga';
import { FakeCheckpoints, FakeWorld } from './fakeWorld';

/** Platform settings used across action tests. */
export const TEST_SETTINGS: PlatformSettings = {
  gitlabHost: 'gitlab.test',
  appGroup: 'apps',
  gitopsGroup: 'platform/gitops',
  awsAccountId: '123456789012',
  awsRegion: 'eu-west-1',
  ecrRegistry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  argocdUrl: 'https://argocd.test',
  argocdNamespace: 'argocd',
  clusterServer: 'https://kubernetes.default.svc',
  clusterName: 'test',
  baseDomain: 'apps.test',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
  albGroupName: 'shared',
  loadBalancerSourceCidrs: ['10.0.0.0/16'],
  secretStoreName: 'aws-secrets-manager',
  monitoringNamespace: 'monitoring',
};

/** One "process": its journals are lost on a crash, the world and checkpoints are not. */
export function goldenPathHarness(world = new FakeWorld(), checkpoints = new FakeCheckpoints()) {
  const journals = new SagaJournals();
  const actions = new Map(
    createGoldenPathActions({
      settings: TEST_SETTINGS,
      gitlab: world.gitlab,
      aws: world.aws,
      argocd: world.argocd,
      kubernetes: world.kubernetes,
      catalog: world.catalog,
      journals,
    }).map(a => [a.id, a]),
  );
  const logger = mockServices.logger.mock();
  const outputs: Record<string, unknown> = {};

  /** A workspace holding a minimal rendered app skeleton. */
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-ws-'));
  fs.mkdirSync(path.join(workspace, 'app/src'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'app/catalog-info.yaml'), 'kind: Component\n');
  fs.writeFileSync(path.join(workspace, 'app/src/index.js'), 'console.log("hi")\n');

  async function runStep(id: string, input: Record<string, unknown>, taskId: string, isDryRun = false) {
    const action = actions.get(id);
    if (!action) throw new Error(`no action ${id}`);
    const ctx = {
      ...createMockActionContext({ input: input as any, workspacePath: workspace, task: { id: taskId }, logger: logger as any }),
      logger: logger as any,
      checkpoint: checkpoints.checkpoint as any,
      output: (key: string, value: unknown) => {
        outputs[`${id}.${key}`] = value;
      },
      isDryRun,
    };
    await action.handler(ctx as any);
  }

  /**
   * Runs the golden path as the scaffolder would: `template` is the
   * golden-path template's steps (parallel provision action); `single` the
   * same saga composed from the single-system actions, one step each.
   */
  async function run(
    name: string,
    taskId: string,
    opts: { isDryRun?: boolean; composition?: 'template' | 'single' } = {},
  ) {
    const service = { name, owner: 'group:default/team-a', description: 'Takes: "payments" # fast', port: 3000, replicas: 2 };
    const register: [string, Record<string, unknown>] = [
      'idp:catalog:entity:register',
      { name, catalogInfoUrl: `https://gitlab.test/apps/${name}/-/blob/main/catalog-info.yaml` },
    ];
    const provision: Array<[string, Record<string, unknown>]> =
      opts.composition === 'single'
        ? [
            ['idp:gitlab:repositories:ensure', { ...service, sourcePath: 'app' }],
            ['idp:aws:ecr:ensure', { name, ciCredentials: true }],
            ['idp:argocd:application:ensure', service],
            ['idp:kubernetes:bundle:apply', service],
          ]
        : [['idp:platform:service:provision', { ...service, sourcePath: 'app', ciCredentials: true }]];
    const steps: Array<[string, Record<string, unknown>]> = [
      ['idp:platform:name:validate', { name }],
      ['idp:platform:settings:read', {}],
      ['idp:platform:name:check', { name }],
      ...provision,
      register,
    ];
    for (const [id, input] of steps) {
      await runStep(id, input, taskId, opts.isDryRun);
    }
  }

  const cleanup = () => fs.rmSync(workspace, { recursive: true, force: true });
  return { world, checkpoints, journals, actions, logger, outputs, run, runStep, cleanup };
}
