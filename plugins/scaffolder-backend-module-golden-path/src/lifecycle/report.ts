import type { RepositoryMode } from './retire';

/** What happened (or, in a dry run, would happen) to one resource. */
export type DecommissionOutcome =
  /** It carried the marker and was removed (would be, in a dry run). */
  | { kind: 'removed' }
  /** Nothing there. */
  | { kind: 'gone' }
  /** Something there that is not this service's: left alone, and why. */
  | { kind: 'left'; why: string }
  /** A retained GitLab project: archived, what was done to it. */
  | { kind: 'kept'; changed: boolean; detail: string }
  /** Removing it failed (a re-run tries again). */
  | { kind: 'failed'; error: string };

export interface DecommissionItem {
  /** The saga step (e.g. `aws.ecr-repository`). */
  step: string;
  /** The resource, for people (e.g. `ECR repository payments-api`). */
  resource: string;
  outcome: DecommissionOutcome;
}

/** The whole answer of a decommission (or its dry run). */
export interface DecommissionReport {
  service: string;
  dryRun: boolean;
  repositories: RepositoryMode;
  /** In the order they were (or would be) handled. */
  items: DecommissionItem[];
  /** True when there was nothing to remove or archive: decommissioned already. */
  nothingLeft: boolean;
}

/** The report's lists, as the action outputs them. */
export function reportLists(r: DecommissionReport) {
  const of = (kind: DecommissionOutcome['kind']) =>
    r.items.filter(i => i.outcome.kind === kind);
  return {
    removed: of('removed').map(i => i.resource),
    kept: of('kept').map(
      i => `${i.resource}: ${(i.outcome as { detail: string }).detail}`,
    ),
    left: of('left').map(
      i => `${i.resource}: ${(i.outcome as { why: string }).why}`,
    ),
    gone: of('gone').map(i => i.resource),
    failed: of('failed').map(
      i => `${i.resource}: ${(i.outcome as { error: string }).error}`,
    ),
  };
}

/** The report as markdown: the task page shows it as the template's output text. */
export function reportMarkdown(r: DecommissionReport): string {
  const lists = reportLists(r);
  const section = (title: string, lines: string[]) =>
    lines.length ? ['', `### ${title}`, '', ...lines.map(l => `- ${l}`)] : [];
  let headline = `**${r.service}** is decommissioned.`;
  if (r.dryRun && r.nothingLeft) {
    headline = `Nothing is left of **${r.service}** to remove: it has been decommissioned already. Nothing was changed.`;
  } else if (r.dryRun) {
    headline = `Dry run: this is what decommissioning **${r.service}** would do. Nothing was changed.`;
  } else if (r.nothingLeft) {
    headline = `Nothing was left of **${r.service}**: it had been decommissioned already. Nothing was changed.`;
  }
  const lines = [
    headline,
    ...section(r.dryRun ? 'Would remove' : 'Removed', lists.removed),
    ...section(
      r.dryRun
        ? 'Would keep (archived repositories)'
        : 'Kept (archived repositories)',
      lists.kept,
    ),
    ...section('Left alone', lists.left),
    ...section('Not found (nothing to remove)', lists.gone),
    ...section('Failed (run Decommission again to finish)', lists.failed),
    '',
    r.repositories === 'delete'
      ? `The repositories are scheduled for GitLab's delayed deletion: GitLab removes them after its retention period, and they can be restored in GitLab until then. The name ${r.service} stays taken until they are gone.`
      : `The repositories are archived, with their history: nobody can push, and no pipeline runs. The name ${r.service} stays taken while they exist; delete them in GitLab to free it.`,
  ];
  return `${lines.join('\n')}\n`;
}
