import {
  MANAGED_BY,
  RUN_MARKER_KEY,
  SERVICE_KEY,
} from '@internal/plugin-golden-path-common';
import {
  AwsRegistryApi,
  EcrRepository,
  GitLabApi,
  IamPolicy,
  IamRole,
} from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';
import { ProjectRecord } from './gitlab';

const tagsOf = (plan: ServicePlan) => ({
  [RUN_MARKER_KEY]: plan.marker,
  [SERVICE_KEY]: plan.request.name,
});
const ours = (tags: Record<string, string>, plan: ServicePlan) =>
  tags[RUN_MARKER_KEY] === plan.marker;

/** A managed policy of the service, marked with the run. */
function policyStep(
  aws: AwsRegistryApi,
  plan: ServicePlan,
  id: string,
  policyName: string,
  document: object,
): SagaStep<ServicePlan> {
  return {
    id,
    title: `IAM policy ${policyName}`,
    find: () => aws.findPolicy(policyName),
    isOurs: (p: IamPolicy) => ours(p.tags, plan),
    async ensure(_ctx, _deps, found?: IamPolicy) {
      const p =
        found ?? (await aws.createPolicy(policyName, document, tagsOf(plan)));
      return { name: p.name, arn: p.arn };
    },
    undo: (_ctx, found: IamPolicy) => aws.deletePolicy(found.arn),
  };
}

/**
 * A role of the service: its trust policy, the shared permissions boundary
 * and one managed policy, tagged with the service (which the boundary's
 * resources are named by). `after` runs once the role exists.
 */
function roleStep(
  aws: AwsRegistryApi,
  plan: ServicePlan,
  opts: {
    id: string;
    roleName: string;
    policyStep: string;
    trustPolicy: object;
    description: string;
    after?: string[];
    then?: (deps: Record<string, unknown>) => Promise<void>;
  },
): SagaStep<ServicePlan> {
  const { roleName } = opts;
  return {
    id: opts.id,
    title: `IAM role ${roleName}`,
    after: [opts.policyStep, 'aws.permissions-boundary', ...(opts.after ?? [])],
    find: () => aws.findRole(roleName),
    isOurs: (r: IamRole) => ours(r.tags, plan),
    async ensure(_ctx, deps, found?: IamRole) {
      const policy = deps[opts.policyStep] as { arn: string };
      const boundary = deps['aws.permissions-boundary'] as { arn: string };
      const role =
        found ??
        (await aws.createRole(roleName, {
          trustPolicy: opts.trustPolicy,
          boundaryArn: boundary.arn,
          policyArns: [policy.arn],
          tags: tagsOf(plan),
          description: opts.description,
        }));
      await opts.then?.(deps);
      return { name: role.name, arn: role.arn };
    },
    undo: () => aws.deleteRole(roleName),
  };
}

/**
 * The AWS steps: the ECR repository and its push/pull policy, the shared
 * permissions boundary (made once, never undone), CI's way into ECR (by
 * default a role GitLab's ID token assumes; a user with a static key only
 * with `ciAuth: static-key`), and the secret store's role (aws provider).
 */
export function awsSteps(
  aws: AwsRegistryApi,
  gitlab: GitLabApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const { iam } = plan;
  const steps: SagaStep<ServicePlan>[] = [
    {
      id: 'aws.ecr-repository',
      title: `ECR repository ${plan.ecr.repository}`,
      find: () => aws.findRepository(plan.ecr.repository),
      isOurs: (r: EcrRepository) => ours(r.tags, plan),
      async ensure(_ctx, _deps, found?: EcrRepository) {
        const r = found ?? (await aws.createRepository(plan.ecr.repository, tagsOf(plan)));
        return { name: r.name, arn: r.arn, uri: r.uri };
      },
      undo: (_ctx, found: EcrRepository) => aws.deleteRepository(found.name),
    },
    policyStep(aws, plan, 'aws.iam-policy', iam.policyName, iam.policyDocument),
    {
      // Platform-wide: every service's roles and users share it, so no
      // service's rollback removes it (the step has no undo). An existing
      // policy of that name is used as it is, e.g. one an operator manages.
      id: 'aws.permissions-boundary',
      title: `IAM permissions boundary ${iam.boundary.policyName}`,
      async ensure(ctx) {
        const p = await aws.ensurePolicy(
          iam.boundary.policyName,
          iam.boundary.document,
          { 'managed-by': MANAGED_BY },
        );
        ctx.logger.info(`Permissions boundary ${p.arn} is in place`);
        return { name: p.name, arn: p.arn };
      },
    },
  ];

  // Non-secret variables CI reads (role ARN, audience, region).
  const setCiVariables = async (app: ProjectRecord) => {
    for (const { key, value } of plan.ciVariables) {
      await gitlab.setVariable(app.id, {
        key,
        value,
        masked: false,
        protected: false,
      });
    }
  };

  if (plan.ciCredentials && plan.ciAuth === 'oidc') {
    steps.push(
      roleStep(aws, plan, {
        // No key exists anywhere: a pipeline of the app project's default
        // branch trades GitLab's ID token for an hour of this role.
        id: 'aws.ci-role',
        roleName: iam.ciRoleName,
        policyStep: 'aws.iam-policy',
        trustPolicy: iam.ciTrustPolicy,
        description: `GitLab CI of ${plan.names.appRepoPath} (default branch): push to ECR ${plan.ecr.repository}`,
        after: ['gitlab.app-project'],
        then: async deps => {
          const app = deps['gitlab.app-project'] as ProjectRecord;
          await setCiVariables(app);
        },
      }),
    );
  }
  if (plan.ciCredentials && plan.ciAuth === 'static-key') {
    const userName = iam.ciUserName;
    steps.push({
      // The user's key goes only into masked, hidden, protected variables of
      // the app repository. A replay cannot read the secret back, so it
      // replaces the user (ours) with a fresh one.
      id: 'aws.ci-credentials',
      title: `IAM user ${userName}`,
      after: ['aws.iam-policy', 'aws.permissions-boundary', 'gitlab.app-project'],
      find: () => aws.findCiUser(userName),
      isOurs: (u: { tags: Record<string, string> }) => ours(u.tags, plan),
      async ensure(ctx, deps, found) {
        if (found) await aws.deleteCiUser(userName);
        const policy = deps['aws.iam-policy'] as { arn: string };
        const boundary = deps['aws.permissions-boundary'] as { arn: string };
        const app = deps['gitlab.app-project'] as ProjectRecord;
        const key = await aws.createCiUser(
          userName,
          policy.arn,
          tagsOf(plan),
          boundary.arn,
        );
        for (const [variable, value] of [
          ['AWS_ACCESS_KEY_ID', key.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', key.secretAccessKey],
        ]) {
          await gitlab.setVariable(app.id, {
            key: variable,
            value,
            masked: true,
            hidden: true,
            protected: true,
          });
        }
        await setCiVariables(app);
        ctx.logger.info(
          `IAM user ${userName} ready; key stored as masked, hidden variables of ${app.pathWithNamespace}`,
        );
        return { userName, accessKeyId: key.accessKeyId };
      },
      undo: () => aws.deleteCiUser(userName),
    });
  }
  if (iam.secrets) {
    const { secrets } = iam;
    steps.push(
      policyStep(
        aws,
        plan,
        'aws.secrets-policy',
        secrets.policyName,
        secrets.policyDocument,
      ),
      roleStep(aws, plan, {
        // Assumed only by the namespace's secrets ServiceAccount (IRSA),
        // which only the platform can create.
        id: 'aws.secrets-role',
        roleName: secrets.roleName,
        policyStep: 'aws.secrets-policy',
        trustPolicy: secrets.trustPolicy,
        description: `SecretStore of ${plan.names.namespace}: read ${plan.settings.secrets.prefix}/${plan.request.name}/* only`,
      }),
    );
  }
  return steps;
}
