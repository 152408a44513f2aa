import { RENDER_VERSION } from '@internal/plugin-golden-path-common';
import { ServiceUpgradeResult, UpgradeOutcome } from './ServiceUpgrader';

const STATUS_WORDS: Record<UpgradeOutcome, string> = {
  unchanged: 'unchanged',
  opened: 'MR opened',
  updated: 'MR updated',
  'would-upgrade': 'would open or update an MR',
  skipped: 'skipped',
  failed: 'FAILED',
};

/** Table cells hold one line without pipes. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** How many services ended in each status, e.g. "2 MR opened, 1 unchanged". */
export function summarizeUpgrade(results: ServiceUpgradeResult[]): string {
  const counts = new Map<UpgradeOutcome, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  if (!counts.size) return 'no golden-path services';
  return [...counts]
    .map(([status, n]) => `${n} ${STATUS_WORDS[status]}`)
    .join(', ');
}

/**
 * The upgrade's report as Markdown: one table row per service, then for a
 * dry run each service's unified diff, and what was done to the parts the
 * platform applies directly.
 */
export function renderUpgradeReport(
  results: ServiceUpgradeResult[],
  opts: { dryRun: boolean },
): string {
  const lines = [
    `# ${opts.dryRun ? 'Dry run: u' : 'U'}pgrade to the current golden path (render version ${RENDER_VERSION})`,
    '',
    `${summarizeUpgrade(results)}.`,
    '',
  ];
  if (results.length) {
    lines.push(
      '| Service | Result | Render version | Details |',
      '| --- | --- | --- | --- |',
      ...results.map(r => {
        const mr = r.mergeRequest ? ` [!${r.mergeRequest.iid}](${r.mergeRequest.url})` : '';
        const version = r.renderVersion
          ? `${r.renderVersion.from} → ${r.renderVersion.to}`
          : '';
        return `| ${cell(r.service)} | ${STATUS_WORDS[r.status]}${mr} | ${version} | ${cell(r.detail)} |`;
      }),
      '',
    );
  }
  for (const r of results) {
    const notable = r.files.filter(f => f.kind !== 'create' && f.kind !== 'update' && f.kind !== 'delete');
    if (!r.diff && !notable.length && !r.platform.length) continue;
    lines.push(`## ${r.service}`, '');
    for (const f of notable) {
      lines.push(`- \`${f.path}\`: ${f.kind}${f.note ? ` (${f.note})` : ''}`);
    }
    for (const p of r.platform) lines.push(`- ${p}`);
    lines.push('');
    if (r.diff) {
      // A fence longer than any backtick run in the diff.
      const longest = Math.max(2, ...(r.diff.match(/`+/g) ?? []).map(m => m.length));
      const fence = '`'.repeat(longest + 1);
      lines.push(`${fence}diff`, r.diff.replace(/\n$/, ''), fence, '');
    }
  }
  return lines.join('\n');
}
