/**
 * The sandbox's GitLab: the v4 REST API the golden path and Backstage's
 * GitLab UrlReader use, and git over HTTP (clone, fetch, push), backed by
 * real bare repositories. State lives in `<dataDir>/gitlab.json` and
 * `<dataDir>/git/`, so it survives a restart.
 */
import path from 'node:path';
import express, { ErrorRequestHandler } from 'express';
import { GitRepos } from '../git';
import { SandboxFakeFactory } from '../server';
import { createApiHandler, requireToken } from './api';
import { serveGit } from './gitHttp';
import { gitlabOperationOf, matchGitRequest } from './operations';
import { GitLabState } from './state';
import { createWebHandler } from './web';

export {
  GITLAB_API_OPERATIONS,
  GITLAB_GIT_OPERATIONS,
  GITLAB_OPERATIONS,
} from './operations';
export type {
  GitLabApiOperation,
  GitLabGitOperation,
  GitLabOperation,
} from './operations';
export { SEEDED_GROUPS } from './state';

/** Request bodies of the API (commits carry whole files). */
const BODY_LIMIT = '100mb';

/**
 * The GitLab fake. Groups `apps`, `platform` and `platform/gitops` exist
 * from the first start; see {@link GITLAB_OPERATIONS} for everything it
 * answers and the operation names fault rules can target.
 */
export const gitlabFake: SandboxFakeFactory = env => {
  const state = new GitLabState(env.dataDir);
  const repos = new GitRepos(path.join(env.dataDir, 'git'));
  const router = express.Router();

  // Git over HTTP first: its bodies are streamed to git, never parsed.
  router.use((req, res, next) => {
    const git = matchGitRequest(req);
    if (!git) {
      next();
      return;
    }
    const project = state.project(git.projectPath);
    if (!project || !repos.exists(project.path_with_namespace)) {
      res
        .status(404)
        .type('text/plain')
        .send(
          "The project you were looking for could not be found or you don't have permission to view it.\n",
        );
      return;
    }
    serveGit(repos, { ...git, projectPath: project.path_with_namespace }, req, res);
  });

  // The REST API: token required, JSON and form bodies.
  router.use(
    '/api/v4',
    requireToken,
    express.json({ limit: BODY_LIMIT }),
    express.urlencoded({ extended: true, limit: BODY_LIMIT }),
  );
  router.use(createApiHandler({ state, repos, baseUrl: env.urls.gitlab }));

  router.use(createWebHandler({ state, repos }));

  router.use((_req, res) => {
    res.status(404).json({ message: '404 Not Found' });
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status =
      typeof error?.status === 'number' && error.status >= 400 && error.status < 500
        ? error.status
        : 500;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).json(
      status === 500
        ? { message: '500 Internal Server Error', error: String(error?.message ?? error) }
        : { message: `${status} ${String(error?.message ?? 'Bad request')}` },
    );
  };
  router.use(onError);

  return { router, operationOf: gitlabOperationOf };
};
