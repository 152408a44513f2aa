/**
 * Prints why the backend could not start as plain text (no stack trace for
 * configuration problems, which are the operator's to fix) and exits with 1.
 */
export function reportStartupFailure(error: unknown): never {
  let cause: unknown = error;
  // Backstage wraps a plugin's init failure as "Plugin 'x' startup failed";
  // show the innermost cause, which carries the actual message.
  while (cause instanceof Error && cause.cause instanceof Error) {
    cause = cause.cause;
  }
  let text: string;
  if (cause instanceof Error && cause.name === 'ConfigValidationError') {
    text = cause.message;
  } else if (cause instanceof Error) {
    text = `Backend failed to start: ${cause.stack ?? cause.message}`;
  } else {
    text = `Backend failed to start: ${String(cause)}`;
  }
  process.stderr.write(`${text}\n`);
  process.exit(1);
}
