import { InputError, NotFoundError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { serviceNameProblem } from '@internal/plugin-golden-path-common';
import { UpgradeAccess } from '../upgrade/access';
import { renderUpgradeReport, summarizeUpgrade } from '../upgrade/report';
import { ServiceUpgrader, UpgradeTarget } from '../upgrade/ServiceUpgrader';
import { examples } from './platformServiceUpgrade.examples';

/** What the upgrade action needs, built once by module.ts. */
export interface ServiceUpgradeDeps {
  upgrader: Pick<ServiceUpgrader, 'upgradeAll'>;
  services: {
    list(): Promise<UpgradeTarget[]>;
    get(name: string): Promise<UpgradeTarget | undefined>;
  };
  access: UpgradeAccess;
}

/**
 * Re-renders one or every golden-path service's GitOps repository with
 * today's render layer and proposes the difference as a merge request (see
 * {@link ServiceUpgrader}). Not a saga: it only writes one branch and one
 * merge request per service (and re-applies what the platform applies
 * directly), each idempotently, so a retried task simply runs again.
 */
export function createPlatformServiceUpgradeAction(deps: ServiceUpgradeDeps) {
  return createTemplateAction({
    id: 'idp:platform:service:upgrade',
    description:
      "Upgrades golden-path services to the current golden path: re-renders each service's GitOps manifests from the inputs recorded in its GitOps repository, opens or updates one merge request with exactly the difference (hand edits are merged or shown as conflicts, never overwritten), and re-applies the namespace bundle and ArgoCD project. One service (its owners or platform admins) or all (platform admins).",
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z
            .string()
            .optional()
            .describe('The service to upgrade (its catalog name); leave empty with all: true'),
        all: z =>
          z
            .boolean()
            .optional()
            .describe('Upgrade every golden-path service in the catalog (platform admins only)'),
        dryRun: z =>
          z
            .boolean()
            .optional()
            .describe('Only report the difference per service as a unified diff; change nothing'),
      },
      output: {
        report: z => z.string().describe('The report, as Markdown'),
        summary: z =>
          z.string().describe('How many services ended how, e.g. "2 MR opened, 1 unchanged"'),
        results: z =>
          z
            .array(
              z.object({
                service: z.string(),
                status: z.string(),
                detail: z.string(),
                mergeRequestUrl: z.string().optional(),
              }),
            )
            .describe('One entry per service: unchanged, opened, updated, would-upgrade, skipped or failed'),
      },
    },
    async handler(ctx) {
      const all = ctx.input.all === true;
      const name = ctx.input.name?.trim() || undefined;
      const dryRun = ctx.isDryRun || ctx.input.dryRun === true;
      if (all && name) {
        throw new InputError('Give either name (one service) or all: true, not both');
      }
      if (!all && !name) {
        throw new InputError('Name the service to upgrade (name), or set all: true');
      }
      if (name) {
        const problem = serviceNameProblem(name, 'name');
        if (problem) throw new InputError(problem);
      }
      if (!ctx.getInitiatorCredentials) {
        throw new InputError('The task has no initiator to check permissions against');
      }
      const credentials = await ctx.getInitiatorCredentials();

      let targets: UpgradeTarget[];
      if (name) {
        const target = await deps.services.get(name);
        if (!target) {
          throw new NotFoundError(
            `component:default/${name} is not a golden-path service in the catalog`,
          );
        }
        targets = [target];
      } else {
        targets = await deps.services.list();
      }
      // Before anything is read from or written to GitLab.
      await deps.access(credentials, targets, all ? 'all' : 'one');

      ctx.logger.info(
        `${dryRun ? 'Dry run: upgrading' : 'Upgrading'} ${targets.length} golden-path service(s): ${targets
          .map(t => t.name)
          .join(', ') || 'none'}`,
      );
      const results = await deps.upgrader.upgradeAll(targets, { dryRun });
      for (const r of results) {
        ctx.logger.info(`${r.service}: ${r.status}. ${r.detail}`);
        if (r.diff) ctx.logger.info(r.diff);
      }
      const report = renderUpgradeReport(results, { dryRun });
      ctx.output('report', report);
      ctx.output('summary', summarizeUpgrade(results));
      ctx.output(
        'results',
        results.map(r => ({
          service: r.service,
          status: r.status,
          detail: r.detail,
          ...(r.mergeRequest ? { mergeRequestUrl: r.mergeRequest.url } : {}),
        })),
      );
    },
  });
}
