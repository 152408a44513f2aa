import { LoggerService } from '@backstage/backend-plugin-api';
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
  ArgoCdApplicationStatus,
  LatestPipeline,
} from '@internal/plugin-golden-path-common';
import {
  GoldenPathService,
  isProjectPath,
  readArgoCdSettings,
} from '@internal/plugin-golden-path-node';
import { isApplicationName, toApplicationStatus } from './argocd';

export interface RouterOptions {
  config: Config;
  logger: LoggerService;
  goldenPath: GoldenPathService;
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
 * The plugin's routes (mounted at /api/golden-path):
 *
 * - `GET /argocd/applications/:name` — {@link ArgoCdApplicationStatus}
 * - `GET /gitlab/pipelines/latest?project=<path>[&ref=<ref>]` — {@link LatestPipeline}
 *
 * Both answer 404 when there is nothing to show. Errors are Backstage errors
 * built afresh from redacted messages, without upstream causes.
 */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { config, logger, goldenPath } = options;

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

  router.get('/argocd/applications/:name', async (req, res) => {
    const { name } = req.params;
    if (!isApplicationName(name)) {
      throw new InputError(
        'The application name must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")',
      );
    }
    let app: Record<string, any> | undefined;
    try {
      app = await goldenPath.argocdQuickReads().getApplication(name);
    } catch (error) {
      throw safeError(error);
    }
    if (!app) {
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
    const { project, ref } = req.query;
    if (!isProjectPath(project)) {
      throw new InputError(
        'Query parameter project must be a GitLab project path (group/project)',
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

  return router;
}
