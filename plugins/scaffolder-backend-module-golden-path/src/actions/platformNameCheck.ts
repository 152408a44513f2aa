import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ServicePlan } from '../plan/ServicePlan';
import { databaseIdentifier } from '../render/database';
import { ActionDeps } from './deps';
import { examples } from './platformNameCheck.examples';
import { SagaRolledBackError } from '../saga/engine';
import { nameTakenError } from './runs';

const NOTHING_UNDONE = { undone: [], failed: [], left: [] };

/**
 * Refuses a service name that is taken anywhere — the platform's own run
 * journal (a Create in flight on any replica), the catalog, both GitLab
 * groups, ECR, IAM, ArgoCD, Kubernetes, and the PostgreSQL database and
 * role the service would get (whether or not this Create asks for one: a
 * name is one name everywhere) — before anything is created, with one
 * message listing every place it is taken.
 */
export function createPlatformNameCheckAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:platform:name:check',
    description:
      'Checks that a service name is free in the catalog, both GitLab groups, ECR, IAM, ArgoCD, Kubernetes and (when the platform has one) PostgreSQL, and that no other Create holds it. Fails listing every place it is taken. Run it before any step that creates something.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('The service name to check'),
      },
      output: {
        free: z =>
          z.boolean().describe('True when the name is free everywhere'),
      },
    },
    async handler(ctx) {
      // Validates the name (InputError naming the rule) before anything else.
      const plan = deps.runs.plan({ name: ctx.input.name, owner: '' }, []);
      if (!ctx.isDryRun) {
        // This task's own run (a replay after a crash) finds its own
        // resources: the name was free when it started.
        const own = await deps.runs.store.get(ctx.task.id);
        if (!own) {
          // Nothing has been made yet: say so, whatever went wrong.
          const taken = await placesTaken(deps, plan, ctx.task.id).catch(
            error => {
              throw new SagaRolledBackError(error, NOTHING_UNDONE);
            },
          );
          if (taken.length) {
            throw new SagaRolledBackError(
              nameTakenError(plan.request.name, taken),
              NOTHING_UNDONE,
            );
          }
        }
        ctx.logger.info(`Service name "${plan.request.name}" is free everywhere`);
      }
      ctx.output('free', true);
    },
  });
}

/** Every place the plan's names are taken, looked up at once. */
export async function placesTaken(
  deps: ActionDeps,
  plan: ServicePlan,
  taskId?: string,
): Promise<string[]> {
  const { clients } = deps;
  const { names, request, iam } = plan;
  const checks: Array<[string, () => Promise<boolean>]> = [
    [
      'another Create of this name in progress',
      async () => {
        const claim = await deps.runs.store.claimOf(request.name);
        return !!claim && claim.taskId !== taskId;
      },
    ],
    [
      `catalog entity ${names.namespace}`,
      async () => (await clients.catalog.findEntitiesNamed(request.name)).length > 0,
    ],
    [
      `GitLab project ${names.appRepoPath}`,
      async () => !!(await clients.gitlab.findProject(names.appRepoPath)),
    ],
    [
      `GitLab project ${names.gitopsRepoPath}`,
      async () => !!(await clients.gitlab.findProject(names.gitopsRepoPath)),
    ],
    [
      `ECR repository ${names.ecrRepository}`,
      async () => !!(await clients.aws.findRepository(names.ecrRepository)),
    ],
    [
      `IAM policy ${names.iamPolicyName}`,
      async () => !!(await clients.aws.findPolicy(names.iamPolicyName)),
    ],
    [`IAM user ${iam.ciUserName}`, () => clients.aws.userExists(iam.ciUserName)],
    [
      `IAM role ${iam.ciRoleName}`,
      async () => !!(await clients.aws.findRole(iam.ciRoleName)),
    ],
    [
      `host ${names.host} (an Ingress on the shared load balancer claims it)`,
      async () =>
        (await clients.kubernetes.findIngressesClaimingHost(names.host)).length > 0,
    ],
    [
      `ArgoCD project ${names.argocdProject}`,
      async () => !!(await clients.argocd.getProject(names.argocdProject)),
    ],
    [
      `ArgoCD application ${names.argocdApplication}`,
      async () => !!(await clients.argocd.getApplication(names.argocdApplication)),
    ],
    [
      `Kubernetes namespace ${names.namespace}`,
      () => clients.kubernetes.namespaceExists(names.namespace),
    ],
  ];
  const database = deps.clients.database;
  if (plan.settings.database && database) {
    const identifier = databaseIdentifier(plan.settings.database, request.name);
    checks.push(
      [
        `PostgreSQL database ${identifier}`,
        async () => !!(await database.admin.findDatabase(identifier)),
      ],
      [
        `PostgreSQL role ${identifier}`,
        async () => !!(await database.admin.findRole(identifier)),
      ],
    );
  }
  const results = await Promise.all(checks.map(([, check]) => check()));
  return checks.filter((_, i) => results[i]).map(([place]) => place);
}
