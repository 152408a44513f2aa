import { renderContext } from '../render/context';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { deriveNames } from '../render/derive';
import { assertImageTag, resolveServiceRequest } from '../render/input';
import { ServiceRequest } from '../render/types';
import { renderGitopsRepository } from '../render/gitops';
import { GitLabApi, GitLabFile } from '@internal/plugin-golden-path-node';
import {
  ActionDeps,
  StepContext,
  nameTakenError,
  stepContext,
  taskTopic,
} from './deps';
import { settleAll } from '../saga';
import {
  ServiceInput,
  serviceInputSchema,
  toServiceRequest,
} from './serviceInput';
import { PlatformSettings } from '../render/types';
// The scaffolder hands actions zod's v3 API.
import type { z as zod } from 'zod/v3';
import { examples } from './gitlabRepositoriesEnsure.examples';

/** Image tag of the GitOps Deployment until the app's first pipeline pushes one. */
export const INITIAL_IMAGE_TAG = 'initial';

/** Reads every file under `dir` (skipping .git), paths relative to it. */
export async function readTree(dir: string): Promise<GitLabFile[]> {
  const entries = await fs.readdir(dir, {
    recursive: true,
    withFileTypes: true,
  });
  const files: GitLabFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (rel === '.git' || rel.startsWith('.git/')) continue;
    files.push({ path: rel, content: await fs.readFile(full, 'utf8') });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Inputs of the actions that push the repositories' content. */
export const repositoryContentInputSchema = {
  sourcePath: (z: typeof zod) =>
    z
      .string()
      .optional()
      .describe(
        'Workspace folder holding the rendered app skeleton (default: the workspace root)',
      ),
  initialImageTag: (z: typeof zod) =>
    z
      .string()
      .optional()
      .describe(
        `Image tag the GitOps Deployment starts with (default "${INITIAL_IMAGE_TAG}")`,
      ),
};

/**
 * Validates the request and gathers both repositories' content: the
 * rendered skeleton from the workspace and the rendered GitOps manifests.
 */
export async function prepareRepositoryContent(
  settings: PlatformSettings,
  workspacePath: string,
  input: ServiceInput & { sourcePath?: string; initialImageTag?: string },
) {
  const request = resolveServiceRequest(settings, toServiceRequest(input));
  const imageTag = input.initialImageTag ?? INITIAL_IMAGE_TAG;
  assertImageTag(imageTag, 'initialImageTag');
  const names = deriveNames(settings, request.name);
  const sourcePath = input.sourcePath ?? '.';
  const appFiles = await readTree(
    resolveSafeChildPath(workspacePath, sourcePath),
  );
  if (!appFiles.some(f => f.path === 'catalog-info.yaml')) {
    throw new InputError(
      `sourcePath "${sourcePath}" has no catalog-info.yaml: render the skeleton there first (fetch:template with targetPath ${path.posix.join(
        '.',
        sourcePath,
      )})`,
    );
  }
  const gitopsFiles = renderGitopsRepository(renderContext(settings, request), { imageTag });
  return { request, names, imageTag, appFiles, gitopsFiles };
}

/**
 * Finds or creates a project. A project carrying this task's topic is ours
 * (a replay after a crash); any other existing project is a conflict.
 */
async function ensureProject(
  gitlab: GitLabApi,
  opts: {
    groupPath: string;
    name: string;
    description: string;
    taskId: string;
    serviceName: string;
  },
) {
  const fullPath = `${opts.groupPath}/${opts.name}`;
  const topic = taskTopic(opts.taskId);
  const adoptOrConflict = async () => {
    const existing = await gitlab.findProject(fullPath);
    if (existing?.topics.includes(topic)) return existing;
    throw nameTakenError(opts.serviceName, [`GitLab project ${fullPath}`]);
  };
  if (await gitlab.findProject(fullPath)) return adoptOrConflict();
  try {
    return await gitlab.createProject({
      groupPath: opts.groupPath,
      name: opts.name,
      description: opts.description,
      topics: ['golden-path-idp', topic],
    });
  } catch (error) {
    // Lost a race with another Create of the same name, or a replay.
    if (error instanceof ConflictError) return adoptOrConflict();
    throw error;
  }
}

/**
 * Creates the app repository (the rendered skeleton) and the platform-owned
 * GitOps repository (rendered manifests), each pushed in one commit, with
 * `main` protected and a GitOps deploy token stored as a masked variable of
 * the app repository.
 */
export function createGitlabRepositoriesEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:gitlab:repositories:ensure',
    description:
      'Creates the app repository from the workspace and the GitOps repository from rendered manifests, one commit each, main protected, GITOPS_DEPLOY_TOKEN set as a masked variable. Rolls back everything the task created if it fails.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...serviceInputSchema,
        ...repositoryContentInputSchema,
      },
      output: {
        appRepoUrl: z =>
          z.string().describe('Browser URL of the app repository'),
        pipelinesUrl: z =>
          z.string().describe('Pipelines of the app repository'),
        gitopsRepoUrl: z =>
          z.string().describe('Browser URL of the GitOps repository'),
        catalogInfoUrl: z =>
          z.string().describe('URL of catalog-info.yaml in the app repository'),
      },
    },
    async handler(ctx) {
      const { request, names, appFiles, gitopsFiles } =
        await prepareRepositoryContent(
          deps.settings,
          ctx.workspacePath,
          ctx.input,
        );
      const outputs = () => {
        ctx.output('appRepoUrl', names.appRepoWebUrl);
        ctx.output('pipelinesUrl', `${names.appRepoWebUrl}/-/pipelines`);
        ctx.output('gitopsRepoUrl', names.gitopsRepoWebUrl);
        ctx.output(
          'catalogInfoUrl',
          `${names.appRepoWebUrl}/-/blob/main/catalog-info.yaml`,
        );
      };
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ${names.appRepoPath} (${appFiles.length} files) and ${names.gitopsRepoPath} (${gitopsFiles.length} files)`,
        );
        outputs();
        return;
      }

      const step = stepContext(ctx, deps.journals);
      await step.journal.run(ctx.logger, () =>
        ensureRepositories(deps, step, { request, appFiles, gitopsFiles }),
      );
      outputs();
    },
  });
}

/** A journal step that ensures one GitLab project of this task. */
function projectStep(
  deps: Pick<ActionDeps, 'gitlab'>,
  step: StepContext,
  opts: { fullPath: string; description: string; serviceName: string },
): Promise<ProjectRef> {
  const { fullPath } = opts;
  return step.journal.step({
    name: `GitLab project ${fullPath}`,
    do: () =>
      step.checkpoint({
        key: `ensure.gitlab.project.${fullPath}`,
        fn: async () => {
          const p = await ensureProject(deps.gitlab, {
            groupPath: fullPath.slice(0, fullPath.lastIndexOf('/')),
            name: fullPath.slice(fullPath.lastIndexOf('/') + 1),
            description: opts.description,
            taskId: step.taskId,
            serviceName: opts.serviceName,
          });
          step.logger.info(
            `GitLab project ${p.pathWithNamespace} ready (id ${p.id})`,
          );
          return { id: p.id, pathWithNamespace: p.pathWithNamespace };
        },
      }),
    undo: p => deps.gitlab.deleteProject(p),
  });
}

/**
 * Claims the service name by creating its app repository. GitLab refuses a
 * second project at the same path atomically, so of two concurrent Creates
 * of one name exactly one gets past this point; everything else the golden
 * path creates is created only after it.
 */
export function claimAppRepository(
  deps: Pick<ActionDeps, 'gitlab' | 'settings'>,
  step: StepContext,
  request: ServiceRequest,
): Promise<ProjectRef> {
  return projectStep(deps, step, {
    fullPath: deriveNames(deps.settings, request.name).appRepoPath,
    description: request.description,
    serviceName: request.name,
  });
}

/**
 * The repositories step of the golden path: the app repository (claimed
 * first unless `app` is given), the GitOps repository, both pushes, branch
 * protection, and the GitOps deploy token stored as a masked variable of
 * the app repository. Records compensations in the step's journal; the
 * caller runs it inside the journal.
 */
export async function ensureRepositories(
  deps: Pick<ActionDeps, 'gitlab' | 'settings'>,
  step: StepContext,
  opts: {
    request: ServiceRequest;
    appFiles: GitLabFile[];
    gitopsFiles: GitLabFile[];
    /** The app project, when the caller has claimed it already. */
    app?: ProjectRef;
    /** Called once the GitOps repository has its manifests. */
    onGitopsPushed?: () => void;
  },
): Promise<{ app: ProjectRef; gitops: ProjectRef }> {
  const { gitlab } = deps;
  const { request } = opts;
  const names = deriveNames(deps.settings, request.name);
  const app = opts.app ?? (await claimAppRepository(deps, step, request));

  const push = async (
    project: ProjectRef,
    files: GitLabFile[],
    message: string,
  ) => {
    await step.checkpoint({
      key: `ensure.gitlab.commit.${project.pathWithNamespace}`,
      fn: async () => {
        const { sha } = await gitlab.commitFiles(project.id, {
          branch: 'main',
          message,
          files,
        });
        step.logger.info(
          `Pushed ${files.length} files to ${project.pathWithNamespace} in commit ${sha}`,
        );
        return sha;
      },
    });
    await gitlab.protectBranch(project.id, 'main');
  };

  // The app push needs only the app project; the GitOps push and the
  // deploy token need only the GitOps project: three chains at once.
  const gitopsProject = projectStep(deps, step, {
    fullPath: names.gitopsRepoPath,
    description: `GitOps manifests of ${request.name} (managed by the platform)`,
    serviceName: request.name,
  });
  const gitopsPushed = gitopsProject.then(async g => {
    await push(g, opts.gitopsFiles, `Initial manifests of ${request.name}`);
    opts.onGitopsPushed?.();
  });
  // The app pipeline's update-gitops stage pushes with this token. Its
  // value goes only into a masked variable: the checkpoint keeps the token
  // id, never the token.
  const deployToken = gitopsProject.then(g =>
    step.checkpoint({
      key: `ensure.gitlab.deploy-token.${g.pathWithNamespace}`,
      fn: async () => {
        const { id, token } = await gitlab.createProjectAccessToken(g.id, {
          name: `${request.name}-ci-update-gitops`,
          scopes: ['write_repository'],
          accessLevel: 40,
          expiresAt: oneYearFrom(new Date()),
        });
        await gitlab.setVariable(app.id, {
          key: 'GITOPS_DEPLOY_TOKEN',
          value: token,
          masked: true,
          protected: true,
        });
        step.logger.info(
          `Set masked variable GITOPS_DEPLOY_TOKEN on ${app.pathWithNamespace}`,
        );
        return id;
      },
    }),
  );
  const [gitops] = await settleAll([
    gitopsProject,
    push(
      app,
      opts.appFiles,
      `Initial commit of ${request.name} from the golden-path template`,
    ),
    gitopsPushed,
    deployToken,
  ]);
  return { app, gitops };
}

/** A GitLab project as checkpoints keep it. */
export type ProjectRef = { id: number; pathWithNamespace: string };

function oneYearFrom(date: Date): string {
  const d = new Date(date);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
}
