/** One thing wrong with the resolved configuration. */
export interface ConfigProblem {
  /** Dotted config key, e.g. `goldenPath.argocd.token`. */
  key: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** The environment variable that usually sets this key, if any. */
  envVar?: string;
}

/** Renders problems as one multi-line message, one problem per line. */
export function formatProblems(problems: ConfigProblem[]): string {
  const lines = problems.map(
    p => `  - ${p.key}: ${p.message}${p.envVar ? ` (usually set by ${p.envVar})` : ''}`,
  );
  return [
    `Refusing to start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:`,
    ...lines,
  ].join('\n');
}
