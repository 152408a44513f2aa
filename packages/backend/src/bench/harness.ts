/**
 * The benchmark's view of a running portal and its sandbox: Creates timed
 * from the client, step boundaries from the task's events, the sandbox's
 * trace of external calls.
 */
import fs from 'node:fs';
import path from 'node:path';
// A script run from source with dev dependencies, never part of the bundle,
// so it may use the test harness and the sandbox.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { RunningSandbox } from '@internal/sandbox';
// eslint-disable-next-line @backstage/no-undeclared-imports
import yaml from 'yaml';
// eslint-disable-next-line no-restricted-imports
import { REPO_ROOT } from '../__testUtils__/backendProcess';
// eslint-disable-next-line no-restricted-imports
import { Portal } from '../__testUtils__/portal';
import { Call } from './criticalPath';
import { sleep } from './lib';

/** A call from `/__admin/trace`, named as `/__admin/log` names it (IAM calls by their action). */
export interface TracedCall extends Call {
  name: string;
}

export function sandboxAdmin(sandbox: RunningSandbox) {
  const admin = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${sandbox.urls.gitlab}/__admin${p}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });
    if (!res.ok) throw new Error(`sandbox admin ${init.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`);
    return res;
  };
  return {
    admin,
    /** Drops every fault rule and clears the log and the trace. */
    clear: async () => {
      await admin('/faults', { method: 'DELETE' });
    },
    /** Latency on every operation of every service. */
    delayEverything: async (delayMs: number) => {
      await admin('/faults', { method: 'POST', body: JSON.stringify({ rules: [{ delayMs }] }) });
    },
    /** Every call since the last clear that has been answered. */
    trace: async (): Promise<TracedCall[]> => {
      const { requests } = (await (await admin('/trace')).json()) as { requests: Call[] };
      // Log and trace are appended together, so index i is the same call;
      // the log has the IAM action once the body was read.
      const { operations } = (await (await admin('/log')).json()) as { operations: string[] };
      return requests
        .map((r, i) => ({ ...r, name: operations[i] ?? `${r.service} ${r.operation}` }))
        .filter(r => r.end > 0);
    },
    seed: async (count: number, prefix: string) =>
      (await (await admin('/seed', { method: 'POST', body: JSON.stringify({ count, prefix }) })).json()) as {
        seeded: number;
        ms: number;
      },
    argocd: async (settings?: { pollIntervalMs?: number; webhookSecret?: string }) =>
      (await (
        await admin('/argocd', settings ? { method: 'POST', body: JSON.stringify(settings) } : {})
      ).json()) as { pollIntervalMs: number; webhookSecret: string },
  };
}

/** The catalog reads catalog-info.yaml files (registration and its periodic refresh). */
export const isCatalogRead = (c: Call) =>
  c.service === 'gitlab' && c.operation === 'GET /api/v4/projects/:id/repository/files/:file_path/raw';

/**
 * The guest user of the local portal and its groups, from the example org
 * (examples/org.yaml). The owner of every benchmark service is its first
 * group, which the guest may create services for.
 */
function guestGroups(): string[] {
  try {
    const docs = yaml.parseAllDocuments(fs.readFileSync(path.join(REPO_ROOT, 'examples/org.yaml'), 'utf8')).map(d => d.toJS());
    const guest = docs.find(d => d?.kind === 'User' && d?.metadata?.name === 'guest');
    return ((guest?.spec?.memberOf ?? []) as string[]).map(g => (g.includes(':') ? g : `group:default/${g}`));
  } catch {
    return [];
  }
}

export const GUEST_GROUPS = guestGroups();
export const OWNER = GUEST_GROUPS[0] ?? 'group:default/guests';

/**
 * Config for a benchmark backend: the guest signs in with its groups even
 * while the catalog has not read the example org yet (the guest provider
 * falls back to these refs only then). Without it, a sign-in right after
 * readiness gets a token without groups, which the permission policy
 * allows nothing, and the token is kept for the whole run.
 */
export const GUEST_SIGN_IN_CONFIG = {
  auth: {
    providers: {
      guest: { userEntityRef: 'user:default/guest', ownershipEntityRefs: ['user:default/guest', ...GUEST_GROUPS] },
    },
  },
};

export const form = (name: string) => ({
  name,
  owner: OWNER,
  description: 'Benchmark service',
  port: 3000,
  replicas: 2,
});

/**
 * When a step started and ended, as seen by polling the task's events: the
 * event was written after `lo` (the last poll that did not see it was sent)
 * and before `hi` (the first poll that saw it was answered). SQLite stores
 * event times to the second, so the events' own timestamps cannot be used.
 */
export interface Bracket {
  lo: number;
  hi: number;
}

export interface StepTimes {
  start?: Bracket;
  end?: Bracket;
  status?: string;
}

export interface ObservedTask {
  id: string;
  name: string;
  status: string;
  /** The failure message (the step's error) for a failed task. */
  message?: string;
  log: string[];
  /** POST sent. */
  created: number;
  /** Completion seen. */
  done: Bracket;
  steps: Record<string, StepTimes>;
  polls: number;
  /** The widest bracket of any step boundary (the polling's resolution). */
  widestBracketMs: number;
}

/** Wall time of a step: the bracket midpoints, and the most it can be off. */
export function stepWall(step: StepTimes | undefined): { ms: number; error: number } {
  if (!step?.start || !step.end) return { ms: NaN, error: NaN };
  const lo = step.end.lo - step.start.hi;
  const hi = step.end.hi - step.start.lo;
  return { ms: (lo + hi) / 2, error: (hi - lo) / 2 };
}

export function portalHarness(portal: Portal) {
  let serial = 0;
  const uniqueName = (prefix: string) => `${prefix}-${process.pid % 1000}-${++serial}`;

  /**
   * Runs one Create, polling its events every `pollMs` (after each answer)
   * to see when each step starts and ends.
   */
  const createObserved = async (name: string, pollMs = 15, timeoutMs = 300_000): Promise<ObservedTask> => {
    const created = Date.now();
    const id = await portal.createService(form(name));
    const steps: Record<string, StepTimes> = {};
    let lastSent = created;
    let done: Bracket | undefined;
    let polls = 0;
    while (!done) {
      if (Date.now() - created > timeoutMs) throw new Error(`task ${id} (${name}) did not finish in ${timeoutMs} ms`);
      const sent = Date.now();
      const res = await portal.api(`/api/scaffolder/v2/tasks/${id}/events`);
      const events: any[] = res.ok ? await res.json() : [];
      const received = Date.now();
      polls++;
      for (const e of events) {
        const stepId: string | undefined = e.body?.stepId;
        const status: string | undefined = e.body?.status;
        if (e.type === 'completion' && !done) done = { lo: lastSent, hi: received };
        if (!stepId || !status) continue;
        const step = (steps[stepId] ??= {});
        if (status === 'processing' && !step.start) step.start = { lo: lastSent, hi: received };
        if (status !== 'processing' && !step.end) {
          step.end = { lo: lastSent, hi: received };
          step.status = status;
        }
      }
      lastSent = sent;
      if (!done) await sleep(pollMs);
    }
    const result = await portal.waitForTask(id, 60_000);
    const brackets = Object.values(steps).flatMap(s => [s.start, s.end]).filter((b): b is Bracket => !!b);
    return {
      id,
      name,
      status: result.status,
      message: result.status === 'completed' ? undefined : result.message,
      log: result.log,
      created,
      done,
      steps,
      polls,
      widestBracketMs: Math.max(0, ...brackets.map(b => b.hi - b.lo)),
    };
  };

  return { uniqueName, createObserved };
}
