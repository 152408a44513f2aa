import { NextFunction, Request, Response } from 'express';

/** Which fake answers a request. */
export type SandboxService = 'gitlab' | 'argocd' | 'aws' | 'kubernetes';

/**
 * A fault or latency rule, set through `POST /__admin/faults`.
 *
 * - `operation` matches the operation name (see `operationOf` of each fake,
 *   e.g. `POST /api/v4/projects`, `CreateRepository`, `PATCH namespaces`);
 *   omitted = every operation of `service` (or of every service).
 * - `match`: only requests whose path (raw or URL-decoded, query included)
 *   or body contains this text, e.g. one service's name, so that parallel
 *   tests do not trip each other. Body matching waits for the whole body.
 * - `failNth`: only the Nth matching call fails (1-based, counted from when
 *   the rule was set); omitted = every matching call fails if `status` is set.
 * - `status`: HTTP status of the injected failure (default 500).
 * - `delayMs`: added before every matching call (latency injection).
 * - `hang`: the matching call (the Nth with `failNth`) never gets an answer;
 *   `before` = it takes no effect, `after` = it takes effect first. The
 *   connection stays open until the client goes away or
 *   `DELETE /__admin/faults` releases it (closes the connection).
 */
export interface FaultRule {
  service?: SandboxService;
  operation?: string;
  match?: string;
  failNth?: number;
  status?: number;
  delayMs?: number;
  hang?: 'before' | 'after';
}

/** One served request, as the benchmark sees it. */
export interface TraceEntry {
  service: SandboxService;
  operation: string;
  start: number;
  end: number;
}

/** A request held without an answer by a `hang` rule. */
export interface HungRequest {
  service: SandboxService;
  operation: string;
  hang: 'before' | 'after';
  method: string;
  path: string;
  /** When it arrived (ms since epoch). */
  since: number;
}

interface ActiveRule extends FaultRule {
  seen: number;
}

/** What the rules say about one request. */
interface Decision {
  delay: number;
  fail?: number;
  hang?: 'before' | 'after';
}

/** Whether the request still has a body to read (express parses it later). */
function hasUnreadBody(req: Request): boolean {
  // `complete` only says the bytes have arrived; until they are read, they can be tapped.
  if (req.readableEnded || req.body !== undefined) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The body as far as the fakes already read it (parsed JSON, text or Buffer). */
function knownBody(req: Request): string {
  const body: unknown = req.body;
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return JSON.stringify(body);
}

/** The fault rules of one sandbox, shared by its fakes. */
export class Faults {
  #rules: ActiveRule[] = [];
  readonly #hung = new Map<Response, HungRequest>();
  /** Every operation served, in order of arrival: `<service> <operation>`. */
  readonly log: string[] = [];
  /** When each request arrived and was answered (ms since epoch), for benchmarks. */
  readonly trace: TraceEntry[] = [];

  set(rules: FaultRule[]) {
    this.#rules = rules.map(r => ({ ...r, seen: 0 }));
  }

  add(rule: FaultRule) {
    this.#rules.push({ ...rule, seen: 0 });
  }

  /** Drops every rule, the log and the trace, and closes every hung connection. */
  clear() {
    this.#rules = [];
    this.log.length = 0;
    this.trace.length = 0;
    for (const res of [...this.#hung.keys()]) {
      this.#hung.delete(res);
      res.socket?.destroy();
      res.destroy();
    }
  }

  rules(): FaultRule[] {
    return this.#rules.map(({ seen: _seen, ...r }) => r);
  }

  /** Requests held by `hang` rules right now (`after` ones once their effect has happened). */
  hung(): HungRequest[] {
    return [...this.#hung.values()];
  }

  /**
   * Express middleware for one fake: names the operation, logs it at once,
   * then applies the rules (delay, failure, hang) before the fake runs.
   */
  middleware(service: SandboxService, operationOf: (req: Request) => string) {
    return (req: Request, res: Response, next: NextFunction) => {
      if (req.path.startsWith('/__admin')) {
        next();
        return;
      }
      const operation = operationOf(req);
      const entry: TraceEntry = { service, operation, start: Date.now(), end: 0 };
      this.trace.push(entry);
      res.on('finish', () => {
        entry.end = Date.now();
      });
      this.log.push(`${service} ${operation}`);
      this.apply(service, operation, req, res, next);
    };
  }

  /**
   * Applies the rules for `operation` to a request that is already logged.
   * Rules that `match` a text not in the path wait for the body: the body
   * is tapped as the fake reads it, and its end is held back until the
   * rules have been applied (so a failed or hung call takes no effect).
   */
  apply(service: SandboxService, operation: string, req: Request, res: Response, next: NextFunction): void {
    const candidates = this.#rules.filter(
      r => (!r.service || r.service === service) && (!r.operation || r.operation === operation),
    );
    if (candidates.length === 0) {
      next();
      return;
    }
    const where = `${req.originalUrl}\n${decoded(req.originalUrl)}`;
    const needsBody = candidates.some(r => r.match && !where.includes(r.match)) && hasUnreadBody(req);
    if (!needsBody) {
      const text = `${where}\n${knownBody(req)}`;
      void this.#enforce(service, operation, this.#decide(candidates, text), req, res, next);
      return;
    }
    // Tap the body as it is read; decide when it ends, before the fake sees the end.
    const chunks: Buffer[] = [];
    const emit = req.emit.bind(req);
    let held = false;
    req.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data') chunks.push(Buffer.from(args[0] as Buffer));
      if (event === 'end' && !held) {
        held = true;
        const text = `${where}\n${Buffer.concat(chunks).toString('utf8')}`;
        void this.#enforce(service, operation, this.#decide(candidates, text), req, res, () => {
          req.emit = emit;
          emit('end', ...args);
        });
        return true;
      }
      return emit(event, ...args);
    }) as Request['emit'];
    next();
  }

  #decide(candidates: ActiveRule[], text: string): Decision {
    const decision: Decision = { delay: 0 };
    for (const rule of candidates) {
      if (rule.match && !text.includes(rule.match)) continue;
      if (!this.#rules.includes(rule)) continue; // cleared meanwhile
      rule.seen += 1;
      decision.delay = Math.max(decision.delay, rule.delayMs ?? 0);
      const nth = rule.failNth === undefined || rule.seen === rule.failNth;
      if (rule.hang && nth) decision.hang = rule.hang;
      else if (nth && (rule.failNth !== undefined || rule.status !== undefined)) decision.fail = rule.status ?? 500;
    }
    return decision;
  }

  async #enforce(
    service: SandboxService,
    operation: string,
    decision: Decision,
    req: Request,
    res: Response,
    proceed: () => void,
  ): Promise<void> {
    if (decision.delay) await new Promise(r => setTimeout(r, decision.delay));
    const hung: HungRequest | undefined = decision.hang
      ? { service, operation, hang: decision.hang, method: req.method, path: req.originalUrl, since: Date.now() }
      : undefined;
    if (hung) res.on('close', () => this.#hung.delete(res));
    if (hung?.hang === 'before') {
      this.#hung.set(res, hung);
      return;
    }
    if (hung?.hang === 'after') {
      // Let the fake do its work; swallow its answer and keep the connection open.
      const swallow = () => {
        if (res.socket && !res.socket.destroyed) this.#hung.set(res, hung);
        return res;
      };
      res.writeHead = swallow as unknown as Response['writeHead'];
      res.flushHeaders = () => undefined;
      res.write = ((..._args: unknown[]) => true) as Response['write'];
      res.end = swallow as unknown as Response['end'];
      proceed();
      return;
    }
    if (decision.fail !== undefined) {
      res.status(decision.fail).json({
        message: `sandbox: injected failure of ${service} ${operation}`,
        error: `injected failure of ${service} ${operation}`,
      });
      return;
    }
    proceed();
  }
}
