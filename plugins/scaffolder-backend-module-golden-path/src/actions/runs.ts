import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  BackstageCredentials,
  LoggerService,
  resolveSafeChildPath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError } from '@backstage/errors';
import { JsonValue } from '@backstage/types';
import { RepoFile, readTree } from '../plan/files';
import { ServicePlan, planService } from '../plan/ServicePlan';
import { ServiceInput } from '../render/input';
import { PlatformSettings } from '../render/types';
import { SagaEngine } from '../saga/engine';
import { NameClaimedError, RunRecord, RunStore } from '../saga/RunStore';
import { StepClients, StepGroup, serviceSteps } from '../steps';
import { OwnerCheck } from './ownerCheck';

/** The one duplicate-name message, whatever found the name taken. */
export function nameTakenError(name: string, places: string[]): ConflictError {
  return new ConflictError(
    `Service name "${name}" is already taken: ${places.join(
      ', ',
    )}. Choose another name.`,
  );
}

/** An unguessable run marker (not the task id, which any reader can see). */
export function newRunMarker(): string {
  return randomBytes(16).toString('hex');
}

/** What a run needs from the scaffolder's action context. */
export interface RunContext {
  taskId: string;
  logger: LoggerService;
  signal?: AbortSignal;
  createdBy?: string;
  credentials?: () => Promise<BackstageCredentials>;
}

/** Plan input as actions pass it. */
export type PlanInput = ServiceInput & {
  initialImageTag?: string;
  ciCredentials?: boolean;
};

/**
 * The bridge between actions and the saga: plans a task's run once, claims
 * the service name, executes the steps an action owns, and completes the
 * run. Every method reads the journal first, so a replay on any replica
 * continues where the run stopped.
 */
export class ServiceRuns {
  constructor(
    private readonly opts: {
      settings: PlatformSettings;
      clients: StepClients;
      store: RunStore;
      engine: SagaEngine;
      /** Checks the user may make a service with the plan's owner (see ownerCheck.ts). */
      ownerCheck?: OwnerCheck;
      now?: () => Date;
      marker?: () => string;
    },
  ) {}

  get store(): RunStore {
    return this.opts.store;
  }

  /** Reads the rendered skeleton from the workspace (files byte-exact). */
  async workspaceFiles(
    workspacePath: string,
    sourcePath = '.',
  ): Promise<RepoFile[]> {
    const dir = resolveSafeChildPath(workspacePath, sourcePath);
    let files: RepoFile[];
    try {
      files = await readTree(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return files;
  }

  /** A plan for `input` (pure apart from the marker and the clock). */
  plan(input: PlanInput, appFiles: RepoFile[], marker = 'dry-run'): ServicePlan {
    return planService(this.opts.settings, input, {
      appFiles,
      marker,
      now: (this.opts.now ?? (() => new Date()))(),
    });
  }

  /**
   * The plan of the task's run. A replay executes the plan the run started
   * with (the workspace may be gone after a crash); a later action of the
   * same task adds what it says explicitly (e.g. `ciCredentials`) or files
   * the first action did not have. Otherwise a new plan from `input`.
   */
  async planFor(
    taskId: string,
    input: PlanInput,
    appFiles: RepoFile[] | undefined,
  ): Promise<{ plan: ServicePlan; run?: RunRecord }> {
    const run = await this.opts.store.get(taskId);
    if (!run) {
      return { plan: this.plan(input, appFiles ?? [], this.newMarker()) };
    }
    const stored = run.plan as unknown as ServicePlan;
    const storedInput: PlanInput = {
      ...stored.request,
      runtime: stored.runtime,
      ciCredentials: stored.ciCredentials,
      initialImageTag: stored.imageTag,
    };
    const explicit = Object.fromEntries(
      Object.entries(input).filter(
        ([key, value]) => value !== undefined && !(key === 'owner' && value === ''),
      ),
    );
    const merged = { ...storedInput, ...explicit } as PlanInput;
    const files = appFiles?.length ? appFiles : undefined;
    if (
      JSON.stringify(merged) === JSON.stringify(storedInput) &&
      (!files || stored.app.files.length)
    ) {
      return { plan: stored, run };
    }
    return {
      plan: this.plan(merged, files ?? stored.app.files, run.marker),
      run,
    };
  }

  private newMarker(): string {
    return (this.opts.marker ?? newRunMarker)();
  }

  /**
   * Executes the `groups` of the task's create run, starting the run (and
   * claiming the name) when this is its first action. On failure everything
   * the run made, in any action, is rolled back.
   */
  async execute(
    ctx: RunContext,
    input: PlanInput,
    opts: {
      groups: StepGroup[];
      appFiles?: RepoFile[];
      requireAppFiles?: boolean;
      /** The action's input names the service's owner: check the user may choose it. */
      checkOwner?: boolean;
    },
  ): Promise<{ plan: ServicePlan; results: Record<string, JsonValue> }> {
    const { store, engine, clients } = this.opts;
    const found = await this.planFor(ctx.taskId, input, opts.appFiles);
    let plan = found.plan;
    if (opts.requireAppFiles && !plan.app.files.some(f => f.path === 'catalog-info.yaml')) {
      throw new InputError(
        'The rendered skeleton has no catalog-info.yaml: render it first (fetch:template into the folder named by sourcePath). If the backend restarted before this step, start the Create again: nothing was created.',
      );
    }
    if (!found.run) {
      // Before anything is created: may this user make a service for this owner?
      if (this.opts.ownerCheck && opts.checkOwner) {
        if (!ctx.credentials) {
          throw new InputError('The task has no initiator to check the owner against');
        }
        await this.opts.ownerCheck(plan.request.owner, await ctx.credentials());
      }
      try {
        await store.start({
          taskId: ctx.taskId,
          serviceName: plan.request.name,
          kind: 'create',
          marker: plan.marker,
          createdBy: ctx.createdBy,
          plan: plan as unknown as JsonValue,
        });
      } catch (error) {
        if (error instanceof NameClaimedError) {
          throw nameTakenError(plan.request.name, [
            `another Create or an existing service (run ${error.byTask})`,
          ]);
        }
        throw error;
      }
      // Another replica may have started this task's run first: use its plan.
      const run = await store.get(ctx.taskId);
      plan = (run?.plan as unknown as ServicePlan) ?? plan;
    } else if ((plan as unknown) !== found.run.plan) {
      await store.savePlan(ctx.taskId, plan as unknown as JsonValue);
    }
    const all = serviceSteps(clients, plan, { credentials: ctx.credentials });
    const results = await engine.execute({
      taskId: ctx.taskId,
      plan,
      steps: serviceSteps(clients, plan, {
        groups: opts.groups,
        credentials: ctx.credentials,
      }),
      allSteps: all,
      logger: ctx.logger,
      signal: ctx.signal,
    });
    return { plan, results };
  }

  /** Marks the run complete: from now on nothing will ever undo it. */
  async complete(taskId: string): Promise<void> {
    await this.opts.store.transition(taskId, ['running'], 'completed');
  }
}

/** `sourcePath` for messages. */
export function displayPath(sourcePath: string | undefined): string {
  return path.posix.join('.', sourcePath ?? '.');
}
