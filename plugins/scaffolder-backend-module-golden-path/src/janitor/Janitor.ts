import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError, isError } from '@backstage/errors';
import { ServicePlan } from '../plan/ServicePlan';
import { ServiceDecommissions } from '../lifecycle/decommission';
import { SagaEngine } from '../saga/engine';
import { RunRecord, RunStore } from '../saga/RunStore';
import { StepClients, serviceSteps } from '../steps';

/** The scaffolder's view of a task, as far as the janitor needs it. */
export type TaskStatus =
  | 'open'
  | 'processing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'skipped'
  | 'gone';

/** What one sweep did, for the log and the runs endpoint. */
export interface JanitorReport {
  completed: string[];
  rolledBack: string[];
  /** Resources that could not be removed: for a human. */
  removeByHand: { taskId: string; serviceName: string; resource: string; error: string }[];
  skipped: string[];
}

/**
 * Finishes what crashed, cancelled or abandoned runs left behind. Runs on a
 * schedule with one runner across replicas. Safe by default:
 *
 * - it only looks at runs nobody holds (their lease expired);
 * - a run whose task is still open or processing belongs to the scaffolder
 *   (task recovery will resume it): left alone;
 * - a run whose task completed is marked completed, never undone;
 * - a run whose task failed, was cancelled or is gone, and that made no
 *   progress for `abandonedAfterMs`, is rolled back through the same steps as
 *   any rollback: each resource is re-read and removed only if it carries the
 *   run's marker;
 * - runs that need attention (an undo failed) are retried, and whatever still
 *   cannot be removed is logged for a human on every sweep.
 */
export class Janitor {
  constructor(
    private readonly opts: {
      store: RunStore;
      engine: SagaEngine;
      clients: StepClients;
      logger: LoggerService;
      taskStatus: (taskId: string) => Promise<TaskStatus>;
      abandonedAfterMs: number;
      /** Finishes decommissions whose task ended first (they go forward, never back). */
      decommissions?: Pick<ServiceDecommissions, 'finishAbandoned'>;
      now?: () => number;
    },
  ) {}

  private now() {
    return (this.opts.now ?? Date.now)();
  }

  async sweep(): Promise<JanitorReport> {
    const { store, logger } = this.opts;
    const report: JanitorReport = { completed: [], rolledBack: [], removeByHand: [], skipped: [] };
    const candidates = [
      ...(await store.unattended()),
      ...(await store.list(['needs_attention'])),
    ];
    for (const run of candidates) {
      try {
        await this.tidy(run, report);
      } catch (error) {
        logger.warn(
          `golden-path janitor: could not tidy run ${run.taskId} (${run.serviceName}): ${
            isError(error) ? error.message : String(error)
          }`,
        );
        report.skipped.push(run.taskId);
      }
    }
    for (const item of report.removeByHand) {
      logger.error(
        `golden-path janitor: remove by hand: ${item.resource} of run ${item.taskId} (${item.serviceName}): ${item.error}`,
      );
    }
    if (report.completed.length || report.rolledBack.length) {
      logger.info(
        `golden-path janitor: completed ${report.completed.length} run(s), rolled back ${report.rolledBack.length}`,
      );
    }
    return report;
  }

  private async tidy(run: RunRecord, report: JanitorReport) {
    const { store, engine, logger } = this.opts;
    const status = await this.opts.taskStatus(run.taskId);
    if (status === 'open' || status === 'processing') {
      report.skipped.push(run.taskId);
      return;
    }
    if (run.kind === 'decommission') {
      await this.finishDecommission(run, report);
      return;
    }
    if (run.kind !== 'create') {
      // Only Create runs are rolled back.
      report.skipped.push(run.taskId);
      return;
    }
    if (status === 'completed' && run.state === 'running') {
      await store.transition(run.taskId, ['running'], 'completed');
      logger.info(`golden-path janitor: run ${run.taskId} (${run.serviceName}) completed with its task`);
      report.completed.push(run.taskId);
      return;
    }
    const idle = this.now() - run.updatedAt.getTime();
    if (run.state !== 'needs_attention' && run.state !== 'rolling_back' && idle < this.opts.abandonedAfterMs) {
      report.skipped.push(run.taskId);
      return;
    }
    const plan = run.plan as unknown as ServicePlan;
    const steps = serviceSteps(this.opts.clients, plan);
    const summary = await engine.withLease(run.taskId, async () => {
      // Re-read under the lease: someone may have finished it meanwhile.
      const current = await store.get(run.taskId);
      if (!current || !['running', 'rolling_back', 'needs_attention'].includes(current.state)) {
        return undefined;
      }
      await store.transition(run.taskId, ['running', 'needs_attention'], 'rolling_back',
        `Abandoned: its task ended as ${status}; rolled back by the janitor`);
      return engine.undoAll({ ...current, state: 'rolling_back' }, { plan, steps, logger });
    });
    if (!summary) return;
    for (const title of summary.undone) {
      logger.info(`golden-path janitor: removed ${title} of run ${run.taskId} (${run.serviceName})`);
    }
    if (summary.failed.length) {
      for (const f of summary.failed) {
        report.removeByHand.push({
          taskId: run.taskId,
          serviceName: run.serviceName,
          resource: f.name,
          error: f.error.message,
        });
      }
    } else {
      report.rolledBack.push(run.taskId);
    }
  }

  /**
   * A decommission whose task ended (failed, cancelled, gone, or crashed
   * before it could complete the run) is finished, not undone: nothing it
   * removed can come back. What still fails is listed for a human.
   */
  private async finishDecommission(run: RunRecord, report: JanitorReport) {
    const { logger, decommissions } = this.opts;
    const idle = this.now() - run.updatedAt.getTime();
    if (!decommissions || (run.state === 'running' && idle < this.opts.abandonedAfterMs)) {
      report.skipped.push(run.taskId);
      return;
    }
    const result = await decommissions.finishAbandoned(run, logger);
    if (result?.failure === undefined) {
      logger.info(`golden-path janitor: finished the decommission of ${run.serviceName} (run ${run.taskId})`);
      report.completed.push(run.taskId);
      return;
    }
    for (const item of result.report.items) {
      if (item.outcome.kind !== 'failed') continue;
      report.removeByHand.push({
        taskId: run.taskId,
        serviceName: run.serviceName,
        resource: item.resource,
        error: item.outcome.error,
      });
    }
  }
}

/** The task's status through the scaffolder's own API; a missing task is `gone`. */
export async function taskStatusOf(
  getTask: () => Promise<{ status: string }>,
): Promise<TaskStatus> {
  try {
    return (await getTask()).status as TaskStatus;
  } catch (error) {
    if (error instanceof NotFoundError || (isError(error) && /404|not found/i.test(error.message))) {
      return 'gone';
    }
    throw error;
  }
}
