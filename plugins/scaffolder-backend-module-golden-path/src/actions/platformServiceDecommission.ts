import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ServiceDecommissions } from '../lifecycle/decommission';
import { reportLists, reportMarkdown } from '../lifecycle/report';
import { RepositoryMode } from '../lifecycle/retire';
import { examples } from './platformServiceDecommission.examples';
import { runContext } from './serviceInput';

/** What the decommission action needs, built once by module.ts. */
export interface DecommissionActionDeps {
  decommissions: ServiceDecommissions;
}

const REPOSITORY_MODES: RepositoryMode[] = ['archive', 'delete'];

/**
 * Decommission a golden-path service: everything its Create made is removed
 * (the ArgoCD application with its resources, the ArgoCD project, the
 * namespace, the ECR repository, the IAM objects, the catalog entity and its
 * location), except its two GitLab repositories, which are archived after
 * their CI/CD variables, access tokens and webhooks are removed. Only
 * resources carrying the marker of the service's Create are touched; only
 * the service's owners and platform admins may run it.
 */
export function createPlatformServiceDecommissionAction(
  deps: DecommissionActionDeps,
) {
  return createTemplateAction({
    id: 'idp:platform:service:decommission',
    description:
      "Decommissions a golden-path service: removes its ArgoCD application and project, namespace, ECR repository, IAM objects and catalog entry, and archives its two GitLab repositories (their CI/CD variables, access tokens and webhooks removed first). Touches only resources carrying the marker of the service's Create; allowed to the service's owners and platform admins. Idempotent: a re-run finishes a partial decommission, and reports 'nothing left' when there is nothing to do.",
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('Name of the service to decommission'),
        confirmName: z =>
          z
            .string()
            .describe('The service name typed again; must equal `name`'),
        dryRun: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Only list what would be removed and kept; change nothing (default false)',
            ),
        repositories: z =>
          z
            .enum(['archive', 'delete'])
            .optional()
            .describe(
              "The two GitLab repositories: `archive` (kept, read-only) or `delete` (archived and scheduled for GitLab's delayed deletion). Default: goldenPath.decommission.repositories, archive unless configured",
            ),
      },
      output: {
        removed: z =>
          z
            .array(z.string())
            .describe('Resources removed (or, in a dry run, that would be)'),
        kept: z =>
          z
            .array(z.string())
            .describe('The archived repositories and what was done to them'),
        left: z =>
          z
            .array(z.string())
            .describe('Resources found but left alone, each with the reason'),
        nothingLeft: z =>
          z
            .boolean()
            .describe('True when the service had been decommissioned already'),
        report: z => z.string().describe('The whole report, as markdown'),
      },
    },
    async handler(ctx) {
      const { name, confirmName } = ctx.input;
      if (typeof name !== 'string' || !name) {
        throw new InputError('name is required: the service to decommission');
      }
      if (confirmName !== name) {
        throw new InputError(
          `confirmName must repeat the service name exactly: expected "${name}", got "${
            confirmName ?? ''
          }". Nothing was changed.`,
        );
      }
      const repositories =
        ctx.input.repositories ?? deps.decommissions.defaultRepositories;
      if (!REPOSITORY_MODES.includes(repositories)) {
        throw new InputError(
          `repositories must be one of ${REPOSITORY_MODES.join(
            ', ',
          )}; got ${repositories}`,
        );
      }
      const dryRun = ctx.input.dryRun === true;

      let report;
      if (ctx.isDryRun) {
        // The template editor: no reads, no credentials; what would be looked at.
        report = deps.decommissions.sketch(name, repositories);
      } else if (dryRun) {
        report = await deps.decommissions.preview(runContext(ctx), {
          name,
          repositories,
        });
      } else {
        report = await deps.decommissions.run(runContext(ctx), {
          name,
          repositories,
        });
      }
      const lists = reportLists(report);
      ctx.output('removed', lists.removed);
      ctx.output('kept', lists.kept);
      ctx.output('left', lists.left);
      ctx.output('nothingLeft', report.nothingLeft);
      ctx.output('report', reportMarkdown(report));
    },
  });
}
