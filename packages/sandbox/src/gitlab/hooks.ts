import crypto from 'node:crypto';
import type { ApiKit } from './api';
import { bool, Handler, notFound, paramError, str } from './http';
import { RepoGit } from './repo';
import { GitLabState, StoredHook, StoredProject } from './state';
import { ZERO_SHA } from '../git';

/** One ref moved by a push: `ref` is `refs/heads/<branch>`; a zero sha means created or deleted. */
export interface RefUpdate {
  ref: string;
  before: string;
  after: string;
}

/** How many commits a Push Hook event lists (GitLab: the 20 newest). */
const MAX_HOOK_COMMITS = 20;

function hookJson(h: StoredHook) {
  return {
    id: h.id,
    url: h.url,
    name: h.name,
    description: h.description,
    project_id: h.project_id,
    push_events: h.push_events,
    push_events_branch_filter: h.push_events_branch_filter,
    issues_events: false,
    confidential_issues_events: false,
    merge_requests_events: h.merge_requests_events,
    tag_push_events: h.tag_push_events,
    note_events: false,
    confidential_note_events: false,
    job_events: false,
    pipeline_events: false,
    wiki_page_events: false,
    deployment_events: false,
    releases_events: false,
    repository_update_events: false,
    enable_ssl_verification: h.enable_ssl_verification,
    alert_status: 'executable',
    disabled_until: null,
    url_variables: [],
    created_at: h.created_at,
    custom_webhook_template: '',
  };
}

/** GitLab's branch filter: a wildcard (`release/*`) or an exact name. */
function branchMatches(filter: string, branch: string): boolean {
  if (!filter) return true;
  const pattern = filter
    .split('*')
    .map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(branch);
}

/** `POST/GET/DELETE /projects/:id/hooks`. */
export function hookHandlers(kit: ApiKit): Record<string, Handler> {
  const { state } = kit;
  const hookOf = (project: StoredProject, id: string) => {
    const hook = /^\d+$/.test(id) ? state.hooks.get(id) : undefined;
    if (!hook || hook.project_id !== project.id) throw notFound('');
    return hook;
  };
  return {
    'GET /api/v4/projects/:id/hooks': ctx => {
      const project = kit.projectOf(ctx);
      return kit.paginate(ctx, state.hooks.list({ parent: project.id }), hookJson);
    },
    'POST /api/v4/projects/:id/hooks': ctx => {
      const project = kit.projectOf(ctx);
      const { input } = ctx;
      const url = str(input.url);
      if (!url) throw paramError('url is missing');
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
        throw paramError('url is invalid');
      }
      const hook = state.hooks.put({
        id: state.nextId('hook'),
        project_id: project.id,
        url,
        name: str(input.name) ?? '',
        description: str(input.description) ?? '',
        push_events: bool(input.push_events) ?? true,
        push_events_branch_filter: str(input.push_events_branch_filter) ?? '',
        merge_requests_events: bool(input.merge_requests_events) ?? false,
        tag_push_events: bool(input.tag_push_events) ?? false,
        enable_ssl_verification: bool(input.enable_ssl_verification) ?? true,
        token: str(input.token) || null,
        created_at: new Date().toISOString(),
      });
      return { status: 201, body: hookJson(hook) };
    },
    'GET /api/v4/projects/:id/hooks/:hook_id': ctx => ({
      body: hookJson(hookOf(kit.projectOf(ctx), ctx.params.hook_id)),
    }),
    'DELETE /api/v4/projects/:id/hooks/:hook_id': ctx => {
      const hook = hookOf(kit.projectOf(ctx), ctx.params.hook_id);
      state.hooks.delete(hook.id);
      return { status: 204 };
    },
  };
}

/**
 * Sends GitLab "Push Hook" events to a project's hooks, in the background:
 * a receiver that is down or slow never fails or delays the push.
 */
export class HookDelivery {
  readonly #pending = new Set<AbortController>();

  constructor(
    private readonly state: GitLabState,
    private readonly git: RepoGit,
    private readonly baseUrl: string,
  ) {}

  /** Queues the events for `updates`; returns at once. */
  pushed(project: StoredProject, updates: RefUpdate[]): void {
    const hooks = this.state.hooks.list({ parent: project.id }).filter(h => h.push_events);
    if (hooks.length === 0) return;
    for (const update of updates) {
      if (!update.ref.startsWith('refs/heads/')) continue;
      const branch = update.ref.slice('refs/heads/'.length);
      const targets = hooks.filter(h => branchMatches(h.push_events_branch_filter, branch));
      if (targets.length === 0) continue;
      void this.#event(project, update).then(
        event => Promise.all(targets.map(h => this.#send(h, event))),
        () => undefined,
      );
    }
  }

  /** The Push Hook body, as GitLab's `Gitlab::DataBuilder::Push` writes it. */
  async #event(project: StoredProject, update: RefUpdate) {
    const full = project.path_with_namespace;
    const webUrl = `${this.baseUrl}/${full}`;
    const httpUrl = `${webUrl}.git`;
    const sshUrl = `git@${new URL(this.baseUrl).hostname}:${full}.git`;
    let shas: string[] = [];
    let total = 0;
    if (update.after !== ZERO_SHA) {
      let not: string[] = [];
      if (update.before !== ZERO_SHA) not = [update.before];
      else {
        const others = (await this.git.branches(full)).filter(b => `refs/heads/${b.name}` !== update.ref);
        not = others.map(b => b.sha);
      }
      const all = await this.git.log(full, update.after, { not });
      total = all.length;
      shas = all.slice(0, MAX_HOOK_COMMITS).reverse();
    }
    const commits = await Promise.all(
      shas.map(async sha => {
        const info = await this.git.commitInfo(full, sha);
        const files = await this.git.commitFiles(full, sha);
        return {
          id: sha,
          message: info.message,
          title: info.title,
          timestamp: info.committed_date,
          url: `${webUrl}/-/commit/${sha}`,
          author: { name: info.author_name, email: info.author_email },
          ...files,
        };
      }),
    );
    const visibilityLevel = { private: 0, internal: 10, public: 20 }[project.visibility] ?? 0;
    return {
      object_kind: 'push',
      event_name: 'push',
      before: update.before,
      after: update.after,
      ref: update.ref,
      ref_protected: project.protected_branches.some(pb => branchMatches(pb.name, update.ref.slice(11))),
      checkout_sha: update.after === ZERO_SHA ? null : update.after,
      message: null,
      user_id: 1,
      user_name: 'Sandbox',
      user_username: 'sandbox',
      user_email: '',
      user_avatar: null,
      project_id: project.id,
      project: {
        id: project.id,
        name: project.name,
        description: project.description,
        web_url: webUrl,
        avatar_url: null,
        git_ssh_url: sshUrl,
        git_http_url: httpUrl,
        namespace: project.namespace.full_path.split('/').pop(),
        visibility_level: visibilityLevel,
        path_with_namespace: full,
        default_branch: project.default_branch,
        ci_config_path: null,
        homepage: webUrl,
        url: sshUrl,
        ssh_url: sshUrl,
        http_url: httpUrl,
      },
      commits,
      total_commits_count: total,
      push_options: {},
      repository: {
        name: project.name,
        url: sshUrl,
        description: project.description,
        homepage: webUrl,
        git_http_url: httpUrl,
        git_ssh_url: sshUrl,
        visibility_level: visibilityLevel,
      },
    };
  }

  async #send(hook: StoredHook, event: object): Promise<void> {
    const controller = new AbortController();
    this.#pending.add(controller);
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'GitLab/18.0.0-sandbox',
          'X-Gitlab-Event': 'Push Hook',
          'X-Gitlab-Instance': this.baseUrl,
          'X-Gitlab-Webhook-UUID': crypto.randomUUID(),
          'X-Gitlab-Event-UUID': crypto.randomUUID(),
          ...(hook.token ? { 'X-Gitlab-Token': hook.token } : {}),
        },
        body: JSON.stringify(event),
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      // The receiver is down: GitLab logs it and moves on.
    } finally {
      clearTimeout(timer);
      this.#pending.delete(controller);
    }
  }

  /** Abandons deliveries in flight (the sandbox is closing). */
  close(): void {
    for (const c of this.#pending) c.abort();
  }
}
