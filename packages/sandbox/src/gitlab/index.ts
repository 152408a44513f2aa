/**
 * The sandbox's GitLab: the v4 REST API the golden path and Backstage's
 * GitLab UrlReader use, and git over HTTP (clone, fetch, push), backed by
 * real bare repositories. State lives in `<dataDir>/gitlab.db` (SQLite) and
 * `<dataDir>/git/`, so it survives a restart.
 */
import express, { ErrorRequestHandler } from 'express';
import { SandboxFakeFactory, SeedService } from '../server';
import { createGitLabApi, requireToken } from './api';
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
  const repos = env.repos;
  const api = createGitLabApi({ state, repos, baseUrl: env.urls.gitlab });
  const router = express.Router();

  // Git over HTTP first: its bodies are streamed to git, never parsed.
  router.use((req, res, next) => {
    const git = matchGitRequest(req);
    if (!git) {
      next();
      return;
    }
    const project = state.project(git.projectPath);
    const notFound = () =>
      res
        .status(404)
        .type('text/plain')
        .send("The project you were looking for could not be found or you don't have permission to view it.\n");
    if (!project) {
      notFound();
      return;
    }
    Promise.resolve()
      .then(async () => {
        await api.kit.ensureRepo(project);
        if (!repos.exists(project.path_with_namespace)) return notFound();
        return serveGit(
          { repos, kit: api.kit, adminToken: env.adminToken },
          project,
          { ...git, projectPath: project.path_with_namespace },
          req,
          res,
        );
      })
      .catch(next);
  });

  // The REST API: token required, JSON and form bodies.
  router.use(
    '/api/v4',
    requireToken(state),
    express.json({ limit: BODY_LIMIT }),
    express.urlencoded({ extended: true, limit: BODY_LIMIT }),
  );
  router.use(api.handler);

  const web = createWebHandler({ state, repos });
  router.use((req, res, next) => {
    web(req, res, next).catch(next);
  });

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

  /** Both projects of each service (topic golden-path-idp), with repositories made on first use. */
  const seed = async (services: SeedService[]) => {
    const apps = state.group('apps')!;
    const gitops = state.group('platform/gitops')!;
    const now = new Date().toISOString();
    const lazy: [string, Record<string, string>][] = [];
    state.store.transaction(() => {
      for (const { name } of services) {
        for (const [group, projectPath, files] of [
          [apps, name, {
            'README.md': `# ${name}\n`,
            'catalog-info.yaml': `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: "${name}"\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:default/sandbox\n`,
          }],
          [gitops, `${name}-gitops`, {
            'manifests/deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: ${name}\n          image: 000000000000.dkr.ecr.eu-west-1.amazonaws.com/${name}:initial\n`,
          }],
        ] as const) {
          const fullPath = `${group.full_path}/${projectPath}`;
          if (state.pathTaken(fullPath)) continue;
          state.projects.put({
            id: state.nextId('project'),
            name: projectPath,
            path: projectPath,
            path_with_namespace: fullPath,
            namespace: { id: group.id, full_path: group.full_path },
            description: `Seeded service ${name}`,
            topics: ['golden-path-idp'],
            default_branch: 'main',
            visibility: 'private',
            created_at: now,
            last_activity_at: now,
            archived: false,
            marked_for_deletion_on: null,
            variables: [],
            protected_branches: [],
          });
          lazy.push([fullPath, { ...files }]);
        }
      }
    });
    for (const [fullPath, files] of lazy) {
      await repos.seedLazy(fullPath, { defaultBranch: 'main', message: 'Initial commit', files });
    }
  };

  return {
    router,
    operationOf: gitlabOperationOf,
    seed,
    close: () => {
      api.hooks.close();
      state.close();
    },
  };
};
