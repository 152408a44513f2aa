import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { runsReadPermission } from '@internal/plugin-golden-path-common';
import express from 'express';
import Router from 'express-promise-router';
import { RunState, RunStore } from '../saga/RunStore';

const STATES: RunState[] = [
  'running',
  'completed',
  'rolling_back',
  'rolled_back',
  'needs_attention',
];

/**
 * `GET /api/scaffolder/golden-path/runs?state=needs_attention`: the runs in
 * a state, with each step's state and error, so an operator can see what a
 * failed rollback left to remove by hand. Never returns markers or plans.
 */
export async function createRunsRouter(options: {
  store: RunStore;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}): Promise<express.Router> {
  const router = Router();
  router.get('/golden-path/runs', async (req, res) => {
    // Platform admins only (the permission policy decides).
    const credentials = await options.httpAuth.credentials(req);
    const [decision] = await options.permissions.authorize(
      [{ permission: runsReadPermission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError('Only platform admins may list runs');
    }
    const states = String(req.query.state ?? 'needs_attention').split(',');
    const bad = states.filter(s => !STATES.includes(s as RunState));
    if (bad.length) {
      throw new InputError(
        `state must be one or more of ${STATES.join(', ')}; got ${bad.join(', ')}`,
      );
    }
    const runs = await options.store.list(states as RunState[]);
    res.json({
      items: await Promise.all(
        runs.map(async run => ({
          taskId: run.taskId,
          serviceName: run.serviceName,
          kind: run.kind,
          state: run.state,
          error: run.error ?? null,
          updatedAt: run.updatedAt.toISOString(),
          steps: (await options.store.steps(run.taskId)).map(s => ({
            step: s.step,
            state: s.state,
            error: s.error ?? null,
          })),
        })),
      ),
    });
  });
  return router;
}
