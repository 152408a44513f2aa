import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotFoundError,
  isError,
} from '@backstage/errors';
import { JsonValue } from '@backstage/types';
import { GitLabProject } from '@internal/plugin-golden-path-node';
import { newRunMarker } from '../actions/runs';
import { ServicePlan, catalogInfoUrlOf, planService } from '../plan/ServicePlan';
import { renderContext } from '../render/context';
import { assertServiceName } from '../render/input';
import { PlatformSettings } from '../render/types';
import {
  RunCancelledError,
  SagaEngine,
  SagaStep,
  StepContext,
  topologicalOrder,
} from '../saga/engine';
import { RunRecord, RunStore, StepRecord } from '../saga/RunStore';
import { retryTransient } from '../saga/transient';
import { StepClients, serviceSteps } from '../steps';
import { DecommissionAuthorizer } from './authorize';
import {
  DecommissionItem,
  DecommissionOutcome,
  DecommissionReport,
} from './report';
import {
  RepositoryMode,
  RetiredProject,
  describeRetired,
  retireProject,
  retiredAnything,
} from './retire';

/**
 * The steps whose resources Decommission keeps: the two GitLab projects are
 * retired (credentials removed, archived) instead of deleted, so code is
 * never lost by a click. Every other step of Create is undone.
 */
export const RETAINED_STEPS: ReadonlySet<string> = new Set([
  'gitlab.app-project',
  'gitlab.gitops-project',
]);

/**
 * The plan of a decommission run, journaled when it starts so that any
 * replica (or the janitor) can finish it: the Create plan it undoes (with
 * the files dropped: undo needs names, not content) and its options.
 */
export interface DecommissionPlan {
  version: 1;
  kind: 'decommission';
  serviceName: string;
  entityRef: string;
  repositories: RepositoryMode;
  /** The Create run whose resources are removed; undefined when the plan was rebuilt from the entity's marker. */
  createTaskId?: string;
  /** How the service was found. */
  source: 'journal' | 'catalog-marker';
  target: ServicePlan;
}

/** What Decommission acts on, resolved once. */
interface Target {
  plan: ServicePlan;
  /** Create's run (real, or a stand-in carrying the marker). */
  createRun: RunRecord;
  /** Create's journal, by step id (empty for a stand-in). */
  createJournal: Map<string, StepRecord>;
  source: DecommissionPlan['source'];
  entityRef: string;
  entityExists: boolean;
}

/** Thrown when a decommission stopped part-way; the report says how far it got. */
export class DecommissionIncompleteError extends Error {
  name = 'DecommissionIncompleteError';
  constructor(readonly report: DecommissionReport, cause: unknown) {
    const why = isError(cause) ? cause.message : String(cause);
    const removed = report.items
      .filter(i => i.outcome.kind === 'removed')
      .map(i => i.resource);
    super(
      [
        `Decommission of ${report.service} stopped: ${why}.`,
        removed.length
          ? `Removed so far: ${removed.join('; ')}.`
          : 'Nothing was removed yet.',
        'Run Decommission again to finish it (everything done is skipped); otherwise the janitor finishes it once the task has ended.',
      ].join(' '),
      { cause },
    );
  }
}

/** What an action passes for one task. */
export interface DecommissionContext {
  taskId: string;
  logger: LoggerService;
  signal?: AbortSignal;
  createdBy?: string;
  credentials?: () => Promise<BackstageCredentials>;
}

const errorMessage = (e: unknown) => (isError(e) ? e.message : String(e));

/** Drops the files: an undo needs names and objects, not repository content. */
function withoutFiles(plan: ServicePlan): ServicePlan {
  return { ...plan, app: { files: [] }, gitops: { files: [] } };
}

/**
 * The order Decommission undoes steps in: every step after the steps that
 * depend on it (reverse dependency order, like a rollback), and among the
 * steps free to go, by phase: ArgoCD first (it would re-create what is
 * removed under it), then everything else, then the retained GitLab
 * projects, and the catalog entry last (the service stays visible, with its
 * owner, until everything else is gone).
 */
export function decommissionOrder<P>(steps: SagaStep<P>[]): SagaStep<P>[] {
  const phase = (s: SagaStep<P>) => {
    if (s.id.startsWith('catalog.')) return 3;
    if (RETAINED_STEPS.has(s.id)) return 2;
    if (s.id.startsWith('argocd.')) return 0;
    return 1;
  };
  const ids = new Set(steps.map(s => s.id));
  const rank = new Map(
    topologicalOrder(steps)
      .reverse()
      .map((s, i) => [s.id, i]),
  );
  const dependents = new Map(steps.map(s => [s.id, 0]));
  for (const s of steps) {
    for (const d of s.after ?? []) {
      if (ids.has(d)) dependents.set(d, dependents.get(d)! + 1);
    }
  }
  const remaining = new Map(steps.map(s => [s.id, s]));
  const order: SagaStep<P>[] = [];
  while (remaining.size) {
    const [next] = [...remaining.values()]
      .filter(s => dependents.get(s.id) === 0)
      .sort((a, b) => phase(a) - phase(b) || rank.get(a.id)! - rank.get(b.id)!);
    // topologicalOrder above has already refused cycles.
    remaining.delete(next.id);
    order.push(next);
    for (const d of next.after ?? []) {
      if (ids.has(d)) dependents.set(d, dependents.get(d)! - 1);
    }
  }
  return order;
}

const STAND_IN_PREFIX = 'marker:';
const isStandIn = (run: RunRecord) => run.taskId.startsWith(STAND_IN_PREFIX);

/** A stand-in for a Create run the journal does not know (its marker came from the catalog). */
function standInRun(
  name: string,
  marker: string,
  plan: ServicePlan,
): RunRecord {
  return {
    taskId: `${STAND_IN_PREFIX}${marker}`,
    serviceName: name,
    kind: 'create',
    marker,
    state: 'completed',
    plan: plan as unknown as JsonValue,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

/**
 * Decommission: removes everything a golden-path service's Create made, as
 * one journaled run (kind `decommission`), with the same ownership rule as
 * every rollback: a resource is removed only if it carries the marker of the
 * service's Create. It goes forward, never back: a failure stops it, and a
 * re-run of the task, a new Decommission or the janitor finishes it.
 */
export class ServiceDecommissions {
  constructor(
    private readonly opts: {
      settings: PlatformSettings;
      clients: StepClients;
      store: RunStore;
      engine: SagaEngine;
      authorize: DecommissionAuthorizer;
      /** `goldenPath.decommission.repositories`. */
      repositories: RepositoryMode;
      now?: () => Date;
      marker?: () => string;
    },
  ) {}

  /** The configured default for the repositories. */
  get defaultRepositories(): RepositoryMode {
    return this.opts.repositories;
  }

  /** `component:default/<name>` and the catalog-info URL, derived from the name alone. */
  private namesOf(name: string) {
    // The names only: no manifests rendered.
    const { names } = renderContext(this.opts.settings, { name, owner: '' });
    return {
      entityRef: `component:default/${names.namespace}`,
      catalogInfoUrl: catalogInfoUrlOf(names),
    };
  }

  private now() {
    return (this.opts.now ?? (() => new Date()))();
  }

  /**
   * Finds the service's Create: the newest completed create run of that name
   * in the journal; otherwise the run marker on its catalog entity (the run
   * of that marker, or, when the journal does not know it, a plan rebuilt
   * from the name with that marker: the names are derived from the name
   * alone, and nothing without the marker is ever touched).
   */
  async resolve(name: string): Promise<Target> {
    const { store, clients } = this.opts;
    const { entityRef, catalogInfoUrl } = this.namesOf(name);
    const entityExists = await clients.catalog.entityExists(entityRef);
    const completed = await store.completedCreateOf(name);
    if (completed) {
      return {
        plan: withoutFiles(completed.plan as unknown as ServicePlan),
        createRun: completed,
        createJournal: await this.journalOf(completed.taskId),
        source: 'journal',
        entityRef,
        entityExists,
      };
    }
    const location = entityExists
      ? await clients.catalog.findLocation(catalogInfoUrl)
      : undefined;
    const marker = location?.markers[0];
    if (!marker) {
      throw new NotFoundError(
        `${name} is not a golden-path service of this portal: the journal has no completed Create of it and ${
          entityExists
            ? `its catalog entity ${entityRef} carries no golden-path run marker`
            : `the catalog has no ${entityRef}`
        }. Nothing was changed.`,
      );
    }
    const run = await store.byMarker(marker);
    if (run && (run.kind !== 'create' || run.state !== 'completed')) {
      throw new ConflictError(
        `The Create of ${name} (task ${run.taskId}) has not finished (${run.state}); wait until it has, then decommission it. Nothing was changed.`,
      );
    }
    const plan = run
      ? withoutFiles(run.plan as unknown as ServicePlan)
      : withoutFiles(
          planService(
            this.opts.settings,
            // The CI credentials step is included so that a CI user made by
            // that Create is found too (removed only if it has the marker).
            { name, owner: '', ciCredentials: true },
            { marker, now: this.now() },
          ),
        );
    return {
      plan,
      createRun: run ?? standInRun(name, marker, plan),
      createJournal: run ? await this.journalOf(run.taskId) : new Map(),
      source: 'catalog-marker',
      entityRef,
      entityExists,
    };
  }

  private async journalOf(taskId: string): Promise<Map<string, StepRecord>> {
    return new Map((await this.opts.store.steps(taskId)).map(s => [s.step, s]));
  }

  private async targetOf(plan: DecommissionPlan): Promise<Target> {
    const { store, clients } = this.opts;
    const createRun = plan.createTaskId
      ? await store.get(plan.createTaskId)
      : undefined;
    return {
      plan: plan.target,
      createRun:
        createRun ??
        standInRun(plan.serviceName, plan.target.marker, plan.target),
      createJournal: createRun
        ? await this.journalOf(createRun.taskId)
        : new Map(),
      source: plan.source,
      entityRef: plan.entityRef,
      entityExists: await clients.catalog.entityExists(plan.entityRef),
    };
  }

  private async authorize(
    target: Target,
    name: string,
    ctx: DecommissionContext,
  ): Promise<void> {
    if (!ctx.credentials) {
      throw new InputError(
        'The task has no initiator to check the permission against',
      );
    }
    await this.opts.authorize(
      {
        name,
        entityRef: target.entityRef,
        entityExists: target.entityExists,
        owner: target.plan.request?.owner || undefined,
      },
      await ctx.credentials(),
    );
  }

  /**
   * What a decommission of `name` would look at, without reading anything
   * (the template editor's dry run): every resource Create makes, in the
   * order Decommission handles them. Each is removed only if it turns out
   * to carry the marker of the service's Create.
   */
  sketch(name: string, repositories: RepositoryMode): DecommissionReport {
    assertServiceName(name, this.opts.settings, 'name');
    const plan = planService(
      this.opts.settings,
      { name, owner: '', ciCredentials: true },
      { marker: 'dry-run', now: this.now() },
    );
    const items: DecommissionItem[] = [];
    for (const step of this.orderedSteps(plan)) {
      if (!step.find && !step.undo) continue;
      items.push({
        step: step.id,
        resource: step.title,
        outcome: RETAINED_STEPS.has(step.id)
          ? {
              kind: 'kept',
              changed: true,
              detail: `would be ${
                repositories === 'delete'
                  ? 'archived and scheduled for deletion'
                  : 'archived'
              } (its CI/CD variables, access tokens and webhooks removed first)`,
            }
          : { kind: 'removed' },
      });
    }
    return buildReport(name, items, { dryRun: true, repositories });
  }

  /**
   * What a decommission of `name` would do, reading every resource and
   * changing nothing. Allowed to the same users as the decommission itself.
   */
  async preview(
    ctx: DecommissionContext,
    input: { name: string; repositories?: RepositoryMode },
  ): Promise<DecommissionReport> {
    assertServiceName(input.name, this.opts.settings, 'name');
    const target = await this.resolve(input.name);
    await this.authorize(target, input.name, ctx);
    const repositories = input.repositories ?? this.opts.repositories;
    const items: DecommissionItem[] = [];
    for (const step of this.orderedSteps(target.plan, ctx.credentials)) {
      const outcome = await this.decommissionStep(step, target, {
        dryRun: true,
        repositories,
        logger: ctx.logger,
      });
      if (outcome) items.push({ step: step.id, resource: step.title, outcome });
    }
    return buildReport(input.name, items, { dryRun: true, repositories });
  }

  /**
   * Decommissions `name` as the task's run: the first call authorizes,
   * journals the plan and starts; a replay of the task (recovery on any
   * replica) continues the run it started, skipping what is done.
   */
  async run(
    ctx: DecommissionContext,
    input: { name: string; repositories?: RepositoryMode },
  ): Promise<DecommissionReport> {
    const { store } = this.opts;
    let run = await store.get(ctx.taskId);
    if (run && run.kind !== 'decommission') {
      throw new InputError(
        `Task ${ctx.taskId} already runs a golden-path ${run.kind}; a decommission needs a task of its own`,
      );
    }
    if (!run) {
      assertServiceName(input.name, this.opts.settings, 'name');
      const target = await this.resolve(input.name);
      // Before anything is journaled or touched.
      await this.authorize(target, input.name, ctx);
      await this.refuseConcurrent(input.name);
      const plan: DecommissionPlan = {
        version: 1,
        kind: 'decommission',
        serviceName: input.name,
        entityRef: target.entityRef,
        repositories: input.repositories ?? this.opts.repositories,
        createTaskId: isStandIn(target.createRun)
          ? undefined
          : target.createRun.taskId,
        source: target.source,
        target: target.plan,
      };
      run = await store.startUnclaimed({
        taskId: ctx.taskId,
        serviceName: input.name,
        kind: 'decommission',
        marker: (this.opts.marker ?? newRunMarker)(),
        createdBy: ctx.createdBy,
        plan: plan as unknown as JsonValue,
      });
      ctx.logger.info(
        `Decommissioning ${input.name} (the resources of Create run ${
          plan.createTaskId ?? `with marker from ${target.entityRef}`
        })`,
      );
    } else if (run.serviceName !== input.name) {
      throw new InputError(
        `Task ${ctx.taskId} decommissions ${run.serviceName}, not ${input.name}`,
      );
    }
    const outcome = await this.work(run, ctx, 'task');
    if (outcome.failure !== undefined) {
      throw new DecommissionIncompleteError(outcome.report, outcome.failure);
    }
    return outcome.report;
  }

  /**
   * Finishes a decommission whose task ended before it did (the janitor
   * calls this). Returns undefined when there was nothing to do.
   */
  async finishAbandoned(
    run: RunRecord,
    logger: LoggerService,
  ): Promise<{ report: DecommissionReport; failure?: unknown } | undefined> {
    const { store } = this.opts;
    const plan = run.plan as unknown as DecommissionPlan;
    // The name was decommissioned and made again since: this run's Create is
    // not the service any more, and nothing of the new one carries its
    // marker. Close it without touching anything.
    const newest = await store.completedCreateOf(run.serviceName);
    if (plan.createTaskId && newest && newest.taskId !== plan.createTaskId) {
      await store.transition(
        run.taskId,
        ['running', 'needs_attention'],
        'completed',
        `Superseded: ${run.serviceName} was created again by task ${newest.taskId}`,
      );
      return undefined;
    }
    return this.work(run, { taskId: run.taskId, logger }, 'janitor');
  }

  /** Refuses while another decommission of the name is being worked on. */
  private async refuseConcurrent(name: string): Promise<void> {
    const now = Date.now();
    const busy = (await this.opts.store.runsOf(name, 'decommission')).find(
      r =>
        r.state === 'running' &&
        r.leaseOwner !== undefined &&
        (r.leaseExpiresAt ?? 0) > now,
    );
    if (busy) {
      throw new ConflictError(
        `A decommission of ${name} is in progress (task ${busy.taskId}); wait for it to end. Nothing was changed.`,
      );
    }
  }

  private orderedSteps(
    plan: ServicePlan,
    credentials?: () => Promise<BackstageCredentials>,
  ): SagaStep<ServicePlan>[] {
    return decommissionOrder(
      serviceSteps(this.opts.clients, plan, { credentials }),
    );
  }

  /**
   * Works through the steps under the run's lease. Each step's outcome is
   * journaled when it is done, so a later attempt skips it and still reports
   * it. Stops at the first failure (or cancellation) and leaves the run
   * `running` with the error; the janitor, after the task has ended, moves
   * it to `needs_attention` if it fails again.
   */
  private async work(
    run: RunRecord,
    ctx: DecommissionContext,
    by: 'task' | 'janitor',
  ): Promise<{ report: DecommissionReport; failure?: unknown }> {
    const { store, engine } = this.opts;
    return engine.withLease(run.taskId, async () => {
      const current = (await store.get(run.taskId))!;
      const plan = current.plan as unknown as DecommissionPlan;
      const journal = await this.journalOf(run.taskId);
      const items: DecommissionItem[] = [];
      const finish = () =>
        buildReport(plan.serviceName, items, {
          dryRun: false,
          repositories: plan.repositories,
        });
      const steps = this.orderedSteps(plan.target, ctx.credentials);
      if (current.state === 'completed') {
        const done = steps
          .map(
            s =>
              journal.get(s.id)?.resource as unknown as DecommissionItem | null,
          )
          .filter((i): i is DecommissionItem => !!i && typeof i === 'object');
        return {
          report: buildReport(plan.serviceName, done, {
            dryRun: false,
            repositories: plan.repositories,
          }),
        };
      }
      const target = await this.targetOf(plan);
      for (const step of steps) {
        const rec = journal.get(step.id);
        if (rec && (rec.state === 'done' || rec.state === 'left')) {
          const done = rec.resource as unknown as DecommissionItem | null;
          if (done) items.push(done);
          continue;
        }
        if (ctx.signal?.aborted) {
          const cancelled = new RunCancelledError();
          await store.transition(
            run.taskId,
            ['running'],
            'running',
            cancelled.message,
          );
          return { report: finish(), failure: cancelled };
        }
        try {
          await store.setStep(run.taskId, step.id, 'started');
          let outcome = await retryTransient({ logger: ctx.logger, what: step.title }, () =>
            this.decommissionStep(step, target, {
              dryRun: false,
              repositories: plan.repositories,
              logger: ctx.logger,
            }),
          );
          if (outcome?.kind === 'gone' && rec?.state === 'started') {
            // An earlier attempt of this run removed it and stopped before
            // it could journal that.
            outcome = { kind: 'removed' };
          }
          const item = outcome
            ? { step: step.id, resource: step.title, outcome }
            : null;
          if (item) items.push(item);
          await store.setStep(
            run.taskId,
            step.id,
            outcome?.kind === 'left' ? 'left' : 'done',
            { resource: item as unknown as JsonValue },
          );
        } catch (error) {
          const message = errorMessage(error);
          items.push({
            step: step.id,
            resource: step.title,
            outcome: { kind: 'failed', error: message },
          });
          await store.setStep(run.taskId, step.id, 'undo_failed', {
            error: message,
          });
          await store.transition(
            run.taskId,
            ['running', 'needs_attention'],
            by === 'task' ? 'running' : 'needs_attention',
            `${step.title}: ${message}`,
          );
          ctx.logger.error(`Could not decommission ${step.title}: ${message}`);
          return { report: finish(), failure: error };
        }
      }
      await store.transition(
        run.taskId,
        ['running', 'needs_attention'],
        'completed',
      );
      // The name is free again for the claim table; the name check still
      // sees the archived repositories, so it stays taken while they exist.
      if (plan.createTaskId) {
        await store.releaseClaim(plan.serviceName, plan.createTaskId);
      }
      // Earlier attempts of the same decommission that stopped part-way are
      // finished by this one.
      for (const other of await store.runsOf(
        plan.serviceName,
        'decommission',
      )) {
        if (
          other.taskId !== run.taskId &&
          (other.state === 'running' || other.state === 'needs_attention') &&
          (other.plan as unknown as DecommissionPlan).createTaskId ===
            plan.createTaskId &&
          !(other.leaseOwner && (other.leaseExpiresAt ?? 0) > Date.now())
        ) {
          await store.transition(
            other.taskId,
            ['running', 'needs_attention'],
            'completed',
            `Finished by task ${run.taskId}`,
          );
        }
      }
      const result = finish();
      ctx.logger.info(
        result.nothingLeft
          ? `Nothing was left of ${plan.serviceName}`
          : `Decommissioned ${plan.serviceName}`,
      );
      return { report: result };
    });
  }

  /**
   * One step: re-reads the resource, leaves it alone unless it carries the
   * marker of the service's Create, retires a retained GitLab project, and
   * removes everything else with the step's own undo (404 = done). Returns
   * undefined for an effect without a resource of its own (a push, a
   * variable), which goes with the resource it belongs to.
   */
  private async decommissionStep(
    step: SagaStep<ServicePlan>,
    target: Target,
    opts: {
      dryRun: boolean;
      repositories: RepositoryMode;
      logger: LoggerService;
    },
  ): Promise<DecommissionOutcome | undefined> {
    const ctx: StepContext<ServicePlan> = {
      run: target.createRun,
      plan: target.plan,
      logger: opts.logger,
    };
    const createRecord = target.createJournal.get(step.id);
    if (!step.find) {
      if (!step.undo) return undefined;
      // An effect with an undo of its own: removed from Create's journal
      // record (Create's own record of what it made is proof it is ours).
      if (createRecord?.state !== 'done') return { kind: 'gone' };
      if (opts.dryRun) return { kind: 'removed' };
      await this.undo(step, ctx, undefined, createRecord.resource);
      return { kind: 'removed' };
    }
    const found = await step.find(ctx);
    if (found === undefined) return { kind: 'gone' };
    if (!step.isOurs?.(found, ctx)) {
      return {
        kind: 'left',
        why: "not made by this service's Create (it does not carry its run marker)",
      };
    }
    if (RETAINED_STEPS.has(step.id)) {
      const retired: RetiredProject = await retireProject(
        this.opts.clients.gitlab,
        found as GitLabProject,
        { mode: opts.repositories, dryRun: opts.dryRun, logger: opts.logger },
      );
      return {
        kind: 'kept',
        changed: retiredAnything(retired),
        detail: describeRetired(retired, opts.repositories, opts.dryRun),
      };
    }
    if (!step.undo) {
      return { kind: 'left', why: 'the platform has no way to remove it' };
    }
    if (opts.dryRun) return { kind: 'removed' };
    await this.undo(step, ctx, found, createRecord?.resource);
    return { kind: 'removed' };
  }

  private async undo(
    step: SagaStep<ServicePlan>,
    ctx: StepContext<ServicePlan>,
    found: unknown,
    record: JsonValue | undefined,
  ): Promise<void> {
    try {
      await step.undo!(ctx, found, record);
      ctx.logger.info(`Removed ${step.title}`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      ctx.logger.info(`Removed ${step.title} (already gone)`);
    }
  }
}

function buildReport(
  service: string,
  items: DecommissionItem[],
  opts: { dryRun: boolean; repositories: RepositoryMode },
): DecommissionReport {
  const nothingLeft = items.every(
    i =>
      i.outcome.kind === 'gone' ||
      i.outcome.kind === 'left' ||
      (i.outcome.kind === 'kept' && !i.outcome.changed),
  );
  return { service, ...opts, items, nothingLeft };
}
