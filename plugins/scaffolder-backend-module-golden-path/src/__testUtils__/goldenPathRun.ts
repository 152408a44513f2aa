import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
// Test-only: an in-memory SQLite journal per test world.
// eslint-disable-next-line @backstage/no-undeclared-imports
import knexFactory, { Knex } from 'knex';
import { createGoldenPathActions, ServiceRuns } from '../actions';
import { PlatformSettings } from '../render/types';
import { SagaEngine } from '../saga/engine';
import { RunStore } from '../saga/RunStore';
import yaml from 'yaml';
import { FakeWorld } from './fakeWorld';

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
  loadBalancerSourceCidrs: ['10.0.1.0/24'],
  secretStoreName: 'aws-secrets-manager',
  monitoringNamespace: 'monitoring',
  reservedHosts: ['www', 'api', 'portal'],
  vpcCidr: '10.0.0.0/16',
  egressAllowedCidrs: [],
  ciAuth: 'oidc',
  gitlabOidcAudience: 'https://gitlab.test',
  permissionsBoundaryName: 'idp-permissions-boundary',
  clusterOidcProvider: 'oidc.eks.eu-west-1.amazonaws.com/id/TEST',
  secrets: { provider: 'aws', prefix: 'idp' },
};

/** A fresh in-memory SQLite database for one test world's journal. */
export function journalDatabase(): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
    // One connection: every "process" of a test world sees the same memory.
    pool: { min: 1, max: 1 },
  });
}

let processes = 0;

/**
 * One "process" of the portal: its own engine (lease owner, heartbeats), the
 * world and the journal database shared with every other process of the
 * test. `kill()` stops it as a crash would: its heartbeats end, its work in
 * flight never settles, its lease runs out.
 */
export function goldenPathHarness(
  world = new FakeWorld(),
  db: Knex = journalDatabase(),
  opts: { leaseMs?: number; settings?: PlatformSettings } = {},
) {
  const settings = opts.settings ?? TEST_SETTINGS;
  const logger = mockServices.logger.mock();
  const leaseMs = opts.leaseMs ?? 60_000;
  const ready = (async () => {
    const store = await RunStore.create(db);
    const engine = new SagaEngine({
      store,
      logger,
      owner: `test-process-${++processes}`,
      leaseMs,
      waitForLeaseMs: leaseMs * 4,
      sleep: ms => new Promise(r => setTimeout(r, Math.min(ms, 50))),
    });
    const clients = {
      gitlab: world.gitlab,
      aws: world.aws,
      argocd: world.argocd,
      kubernetes: world.kubernetes,
      catalog: world.catalog,
      argocdWebhook: {
        url: 'https://argocd.test/api/webhook',
        secret: world.canaries.argocdWebhookSecret,
      },
    };
    const runs = new ServiceRuns({ settings, clients, store, engine });
    const actions = new Map(
      createGoldenPathActions({ settings, clients, runs }).map(
        a => [a.id, a],
      ),
    );
    return { store, engine, runs, actions };
  })();
  const outputs: Record<string, unknown> = {};
  const abort = new AbortController();

  /** A workspace holding a minimal rendered app skeleton. */
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-ws-'));
  fs.mkdirSync(path.join(workspace, 'app/src'), { recursive: true });
  fs.writeFileSync(
    path.join(workspace, 'app/catalog-info.yaml'),
    'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n',
  );
  fs.writeFileSync(path.join(workspace, 'app/src/index.js'), 'console.log("hi")\n');

  async function runStep(
    id: string,
    input: Record<string, unknown>,
    taskId: string,
    isDryRun = false,
  ) {
    const { actions } = await ready;
    const action = actions.get(id);
    if (!action) throw new Error(`no action ${id}`);
    const ctx = {
      ...createMockActionContext({
        input: input as any,
        workspacePath: workspace,
        task: { id: taskId },
        logger: logger as any,
      }),
      logger: logger as any,
      signal: abort.signal,
      output: (key: string, value: unknown) => {
        outputs[`${id}.${key}`] = value;
      },
      getInitiatorCredentials: async () => ({ principal: { type: 'user' } }),
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
    runOpts: { isDryRun?: boolean; composition?: 'template' | 'single' } = {},
  ) {
    const service = {
      name,
      owner: 'group:default/team-a',
      description: 'Takes: "payments" # fast',
      port: 3000,
      replicas: 2,
    };
    const register: [string, Record<string, unknown>] = [
      'idp:catalog:entity:register',
      {
        name,
        catalogInfoUrl: `https://gitlab.test/apps/${name}/-/blob/main/catalog-info.yaml`,
      },
    ];
    const provision: Array<[string, Record<string, unknown>]> =
      runOpts.composition === 'single'
        ? [
            ['idp:gitlab:repositories:ensure', { ...service, sourcePath: 'app' }],
            ['idp:aws:ecr:ensure', { name, ciCredentials: true }],
            ['idp:argocd:application:ensure', service],
            ['idp:kubernetes:bundle:apply', service],
          ]
        : [
            [
              'idp:platform:service:provision',
              { ...service, sourcePath: 'app', ciCredentials: true },
            ],
          ];
    const steps: Array<[string, Record<string, unknown>]> = [
      ['idp:platform:name:validate', { name }],
      ['idp:platform:settings:read', {}],
      ['idp:platform:name:check', { name }],
      ...provision,
      register,
    ];
    for (const [id, input] of steps) {
      await runStep(id, input, taskId, runOpts.isDryRun);
    }
  }

  const cleanup = () => fs.rmSync(workspace, { recursive: true, force: true });

  /** Runs every documented example of action `id`, in order; returns how many. */
  async function runExamples(id: string, isDryRun: boolean, taskId = 'task-examples') {
    const { actions } = await ready;
    const action = actions.get(id)!;
    let count = 0;
    for (const example of action.examples ?? []) {
      for (const step of yaml.parse(example.example).steps) {
        if (step.action !== id) throw new Error(`example of ${id} runs ${step.action}`);
        await runStep(id, step.input ?? {}, taskId, isDryRun);
        count++;
      }
    }
    return count;
  }

  /** Every message logged at `level`. */
  const logged = (level: 'info' | 'warn' | 'error' = 'info') =>
    logger[level].mock.calls.map(c => String(c[0]));

  return {
    runExamples,
    logged,
    world,
    db,
    ready,
    logger,
    outputs,
    run,
    runStep,
    workspace,
    /** Cancels the task, as the scaffolder's cancel does. */
    cancel: () => abort.abort(),
    /** The process dies: no more heartbeats. */
    kill: async () => (await ready).engine.dispose(),
    cleanup,
  };
}
