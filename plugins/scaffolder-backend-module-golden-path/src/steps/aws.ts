import {
  RUN_MARKER_KEY,
  SERVICE_KEY,
} from '@internal/plugin-golden-path-common';
import {
  AwsRegistryApi,
  EcrRepository,
  GitLabApi,
  IamPolicy,
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

/** The AWS steps: ECR repository, IAM policy, and (optionally) the CI user. */
export function awsSteps(
  aws: AwsRegistryApi,
  gitlab: GitLabApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
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
    {
      id: 'aws.iam-policy',
      title: `IAM policy ${plan.iam.policyName}`,
      find: () => aws.findPolicy(plan.iam.policyName),
      isOurs: (p: IamPolicy) => ours(p.tags, plan),
      async ensure(_ctx, _deps, found?: IamPolicy) {
        const p =
          found ??
          (await aws.createPolicy(plan.iam.policyName, plan.iam.policyDocument, tagsOf(plan)));
        return { name: p.name, arn: p.arn };
      },
      undo: (_ctx, found: IamPolicy) => aws.deletePolicy(found.arn),
    },
  ];
  if (plan.ciCredentials) {
    const userName = plan.iam.ciUserName;
    steps.push({
      // The user's key goes only into masked, protected variables of the app
      // repository. A replay cannot read the secret back, so it replaces the
      // user (ours) with a fresh one.
      id: 'aws.ci-credentials',
      title: `IAM user ${userName}`,
      after: ['aws.iam-policy', 'gitlab.app-project'],
      find: () => aws.findCiUser(userName),
      isOurs: (u: { tags: Record<string, string> }) => ours(u.tags, plan),
      async ensure(ctx, deps, found) {
        if (found) await aws.deleteCiUser(userName);
        const policy = deps['aws.iam-policy'] as { arn: string };
        const app = deps['gitlab.app-project'] as ProjectRecord;
        const key = await aws.createCiUser(userName, policy.arn, tagsOf(plan));
        for (const [variable, value] of [
          ['AWS_ACCESS_KEY_ID', key.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', key.secretAccessKey],
        ]) {
          await gitlab.setVariable(app.id, {
            key: variable,
            value,
            masked: true,
            protected: true,
          });
        }
        ctx.logger.info(
          `IAM user ${userName} ready; key stored as masked variables of ${app.pathWithNamespace}`,
        );
        return { userName, accessKeyId: key.accessKeyId };
      },
      undo: () => aws.deleteCiUser(userName),
    });
  }
  return steps;
}
