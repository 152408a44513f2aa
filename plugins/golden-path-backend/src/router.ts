import {
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  ConflictError,
  InputError,
  isError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import {
  ARGOCD_APP_NAME_ANNOTATION,
  ArgoCdApplicationStatus,
  GITLAB_PROJECT_SLUG_ANNOTATION,
  LatestPipeline,
  MANAGED_BY,
  RUN_MARKER_KEY,
  UpgradeStatus,
} from '@internal/plugin-golden-path-common';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { rateLimit } from './rateLimit';
import {
  GoldenPathService,
  isProjectPath,
  readArgoCdSettings,
} from '@internal/plugin-golden-path-node';
import { isApplicationName, toApplicationStatus } from './argocd';
import { upgradeStatusOf } from './upgrade';

export interface RouterOptions {
  config: Config;
  logger: LoggerService;
  goldenPath: GoldenPathService;
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  /** Per user and route; default 60 requests per minute. */
  rateLimit?: { limit: number; windowMs: number };
}

/** Every token in config that must never appear in an answer. */
function secretsOf(config: Config): string[] {
  const tokens = [config.getOptionalString('goldenPath.argocd.token')];
  for (const gitlab of config.getOptionalConfigArray('integrations.gitlab') ??
    []) {
    tokens.push(gitlab.getOptionalString('token'));
  }
  return tokens.filter((t): t is string => typeof t === 'string' && t !== '');
}

/**
 * The plugin's routes (mounted at /api/golden-path), each for one catalog
 * entity the caller may read:
 *
 * - `GET /argocd/application?entityRef=<ref>` — {@link ArgoCdApplicationStatus}
 * - `GET /gitlab/pipelines/latest?entityRef=<ref>[&ref=<branch>]` — {@link LatestPipeline}
 * - `GET /upgrade?entityRef=<ref>` — {@link UpgradeStatus}: render version, upgrade waiting
 *
 * The entity is read from the catalog with the caller's credentials, so the
 * permission policy decides (`catalog.entity.read`); only golden-path
 * services (whose entity carries the run marker) are served, and the ArgoCD
 * application or GitLab project comes from the entity's annotations, never
 * from the request. Both answer 404 when there is nothing to show, and 429
 * when one user asks too often. Errors are Backstage errors built afresh
 * from redacted messages, without upstream causes.
 */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { config, logger, goldenPath, httpAuth, catalog } = options;

  const redact = (text: string) =>
    secretsOf(config).reduce(
      (out, secret) => out.split(secret).join('***'),
      text,
    );

  /** A fresh error of a known kind with a redacted message and no cause. */
  const safeError = (error: unknown): Error => {
    const message = redact(isError(error) ? error.message : String(error));
    if (!isError(error)) return new ServiceUnavailableError(message);
    switch (error.name) {
      case 'InputError':
        return new InputError(message);
      case 'NotFoundError':
        return new NotFoundError(message);
      case 'NotAllowedError':
        return new NotAllowedError(message);
      case 'ConflictError':
        return new ConflictError(message);
      default:
        logger.warn(`golden-path: ${message}`);
        return new ServiceUnavailableError(message);
    }
  };

  const router = Router();
  router.use(
    rateLimit({
      ...(options.rateLimit ?? { limit: 60, windowMs: 60_000 }),
      key: async req => {
        const credentials = await httpAuth.credentials(req, { allow: ['user'] });
        return `${req.path} ${credentials.principal.userEntityRef}`;
      },
    }),
  );

  /** The golden-path entity named by `?entityRef=`, as the caller may see it. */
  const entityOf = async (req: express.Request) => {
    const { entityRef } = req.query;
    if (typeof entityRef !== 'string' || !entityRef) {
      throw new InputError('Query parameter entityRef is required, e.g. component:default/payments-api');
    }
    try {
      parseEntityRef(entityRef);
    } catch {
      throw new InputError(`entityRef "${entityRef}" is not an entity ref`);
    }
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const entity = await catalog.getEntityByRef(entityRef, { credentials });
    if (!entity) {
      throw new NotFoundError(`No entity ${entityRef} that you may see`);
    }
    if (!entity.metadata.annotations?.[RUN_MARKER_KEY]) {
      throw new NotFoundError(`${entityRef} is not a golden-path service`);
    }
    return entity;
  };

  router.get('/argocd/application', async (req, res) => {
    const entity = await entityOf(req);
    const name = entity.metadata.annotations?.[ARGOCD_APP_NAME_ANNOTATION];
    if (!isApplicationName(name)) {
      throw new NotFoundError(
        `${stringifyEntityRef(entity)} has no valid ${ARGOCD_APP_NAME_ANNOTATION} annotation`,
      );
    }
    let app: Record<string, any> | undefined;
    try {
      app = await goldenPath.argocdQuickReads().getApplication(name);
    } catch (error) {
      throw safeError(error);
    }
    // Only the platform's own applications, never one the annotation
    // happens to name.
    if (!app || app.metadata?.labels?.['app.kubernetes.io/managed-by'] !== MANAGED_BY) {
      throw new NotFoundError(`ArgoCD application '${name}' not found`);
    }
    const { url, namespace } = readArgoCdSettings(config);
    const body: ArgoCdApplicationStatus = toApplicationStatus(name, app, {
      argocdUrl: url,
      namespace,
    });
    res.json(JSON.parse(redact(JSON.stringify(body))));
  });

  router.get('/gitlab/pipelines/latest', async (req, res) => {
    const { ref } = req.query;
    const entity = await entityOf(req);
    const project = entity.metadata.annotations?.[GITLAB_PROJECT_SLUG_ANNOTATION];
    if (!isProjectPath(project)) {
      throw new NotFoundError(
        `${stringifyEntityRef(entity)} has no valid ${GITLAB_PROJECT_SLUG_ANNOTATION} annotation`,
      );
    }
    if (ref !== undefined && (typeof ref !== 'string' || ref === '')) {
      throw new InputError('Query parameter ref must be a branch or tag name');
    }
    // The platform token sees more than a user may: only the platform's
    // own app and GitOps groups are readable through this route.
    const groups = [
      'goldenPath.gitlab.appGroup',
      'goldenPath.gitlab.gitopsGroup',
    ]
      .map(key => config.getOptionalString(key)?.replace(/^\/+|\/+$/g, ''))
      .filter((g): g is string => !!g);
    // (Without the groups configured the client below answers 503.)
    if (
      groups.length &&
      !groups.some(g => project.toLowerCase().startsWith(`${g.toLowerCase()}/`))
    ) {
      throw new NotAllowedError(
        `GitLab project '${project}' is not in the platform's groups (${groups.join(
          ', ',
        )})`,
      );
    }
    let pipeline: LatestPipeline | undefined;
    try {
      pipeline = await goldenPath
        .pipelines()
        .getLatestPipeline(project, { ref });
    } catch (error) {
      throw safeError(error);
    }
    if (!pipeline) {
      throw new NotFoundError(
        `GitLab project '${project}' has no pipeline yet`,
      );
    }
    res.json(JSON.parse(redact(JSON.stringify(pipeline))));
  });

  router.get('/upgrade', async (req, res) => {
    const entity = await entityOf(req);
    const gitopsGroup = config.getOptionalString('goldenPath.gitlab.gitopsGroup');
    if (!gitopsGroup) {
      throw new ServiceUnavailableError('goldenPath.gitlab.gitopsGroup is not configured');
    }
    let body: UpgradeStatus;
    try {
      body = await upgradeStatusOf(entity, { gitlab: goldenPath.gitlab(), gitopsGroup });
    } catch (error) {
      throw safeError(error);
    }
    res.json(JSON.parse(redact(JSON.stringify(body))));
  });

  return router;
}
