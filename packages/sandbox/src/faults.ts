import { NextFunction, Request, Response } from 'express';

/** Which fake answers a request. */
export type SandboxService = 'gitlab' | 'argocd' | 'aws' | 'kubernetes';

/**
 * A fault or latency rule, set through `POST /__admin/faults`.
 *
 * - `operation` matches the operation name (see `operationOf` of each fake,
 *   e.g. `POST /api/v4/projects`, `CreateRepository`, `PATCH namespaces`);
 *   omitted = every operation of `service` (or of every service).
 * - `failNth`: only the Nth matching call fails (1-based, counted from when
 *   the rule was set); omitted = every matching call fails if `status` is set.
 * - `status`: HTTP status of the injected failure (default 500).
 * - `delayMs`: added before every matching call (latency injection).
 */
export interface FaultRule {
  service?: SandboxService;
  operation?: string;
  failNth?: number;
  status?: number;
  delayMs?: number;
}

/** One served request, as the benchmark sees it. */
export interface TraceEntry {
  service: SandboxService;
  operation: string;
  start: number;
  end: number;
}

interface ActiveRule extends FaultRule {
  seen: number;
}

/** The fault rules of one sandbox, shared by its fakes. */
export class Faults {
  #rules: ActiveRule[] = [];
  /** Every operation served, in order: `<service> <operation>`. */
  readonly log: string[] = [];
  /** When each request arrived and was answered (ms since epoch), for benchmarks. */
  readonly trace: TraceEntry[] = [];

  set(rules: FaultRule[]) {
    this.#rules = rules.map(r => ({ ...r, seen: 0 }));
  }

  add(rule: FaultRule) {
    this.#rules.push({ ...rule, seen: 0 });
  }

  clear() {
    this.#rules = [];
    this.log.length = 0;
    this.trace.length = 0;
  }

  rules(): FaultRule[] {
    return this.#rules.map(({ seen: _seen, ...r }) => r);
  }

  /**
   * Express middleware for one fake: names the operation, waits the injected
   * delay, and answers with the injected failure when a rule says so.
   */
  middleware(service: SandboxService, operationOf: (req: Request) => string) {
    return async (req: Request, res: Response, next: NextFunction) => {
      if (req.path.startsWith('/__admin')) return next();
      const operation = operationOf(req);
      const entry: TraceEntry = { service, operation, start: Date.now(), end: 0 };
      this.trace.push(entry);
      res.on('finish', () => {
        entry.end = Date.now();
      });
      this.log.push(`${service} ${operation}`);
      let fail: number | undefined;
      let delay = 0;
      for (const rule of this.#rules) {
        if (rule.service && rule.service !== service) continue;
        if (rule.operation && rule.operation !== operation) continue;
        rule.seen += 1;
        delay = Math.max(delay, rule.delayMs ?? 0);
        const failsNow = rule.failNth === undefined ? rule.status !== undefined : rule.seen === rule.failNth;
        if (failsNow) fail = rule.status ?? 500;
      }
      if (delay) await new Promise(r => setTimeout(r, delay));
      if (fail !== undefined) {
        res.status(fail).json({
          message: `sandbox: injected failure of ${service} ${operation}`,
          error: `injected failure of ${service} ${operation}`,
        });
        return undefined;
      }
      return next();
    };
  }
}
