import type { ApiKit } from './api';
import { badRequest, bool, Ctx, Handler, HttpError, notFound, paramError, str, stringList } from './http';
import { isValidBranchName } from './repo';
import { StoredMergeRequest, StoredProject } from './state';

const STATES = ['opened', 'closed', 'locked', 'merged', 'all'];

/** Labels as GitLab stores them: trimmed, unique, in the order given. */
function labelsOf(value: unknown): string[] {
  return [...new Set(stringList(value) ?? [])];
}

/** Merge requests within one project: create, list, show, update, diffs. */
export function mergeRequestHandlers(kit: ApiKit): Record<string, Handler> {
  const { state, git, baseUrl } = kit;
  const user = {
    id: 1,
    username: 'sandbox',
    name: 'Sandbox',
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${baseUrl}/sandbox`,
  };

  const mrOf = (ctx: Ctx, project: StoredProject): StoredMergeRequest => {
    const iid = ctx.params.merge_request_iid;
    const mr = /^\d+$/.test(iid) ? state.mergeRequests.byName(`${project.id}!${iid}`) : undefined;
    if (!mr) throw notFound('Merge Request');
    return mr;
  };

  /** Base (merge base), head (source) and start (target) shas; undefined once a branch is gone. */
  const refsOf = async (project: StoredProject, mr: StoredMergeRequest) => {
    const full = project.path_with_namespace;
    const head = await kit.repos.resolve(full, `refs/heads/${mr.source_branch}`);
    const start = await kit.repos.resolve(full, `refs/heads/${mr.target_branch}`);
    const base = head && start ? await git.mergeBase(full, head, start) : undefined;
    return { head, start, base };
  };

  const basicJson = async (project: StoredProject, mr: StoredMergeRequest) => {
    const { head } = await refsOf(project, mr);
    const open = mr.state === 'opened';
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: project.id,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: mr.created_at,
      updated_at: mr.updated_at,
      merged_by: mr.state === 'merged' ? user : null,
      merge_user: mr.state === 'merged' ? user : null,
      merged_at: mr.merged_at,
      closed_by: mr.state === 'closed' ? user : null,
      closed_at: mr.closed_at,
      target_branch: mr.target_branch,
      source_branch: mr.source_branch,
      user_notes_count: 0,
      upvotes: 0,
      downvotes: 0,
      author: user,
      assignees: [],
      assignee: null,
      reviewers: [],
      source_project_id: project.id,
      target_project_id: project.id,
      labels: mr.labels,
      draft: /^(\[draft\]|\(draft\)|draft:|draft\s-\s)/i.test(mr.title),
      imported: false,
      imported_from: 'none',
      work_in_progress: /^(\[draft\]|\(draft\)|draft:|draft\s-\s)/i.test(mr.title),
      milestone: null,
      merge_when_pipeline_succeeds: false,
      merge_status: open ? 'can_be_merged' : 'cannot_be_merged_recheck',
      detailed_merge_status: open ? 'mergeable' : 'not_open',
      merge_after: null,
      sha: head ?? null,
      merge_commit_sha: mr.merge_commit_sha,
      squash_commit_sha: null,
      discussion_locked: null,
      should_remove_source_branch: mr.should_remove_source_branch,
      force_remove_source_branch: mr.should_remove_source_branch ?? false,
      prepared_at: mr.created_at,
      reference: `!${mr.iid}`,
      references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${project.path_with_namespace}!${mr.iid}` },
      web_url: `${baseUrl}/${project.path_with_namespace}/-/merge_requests/${mr.iid}`,
      time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
      squash: mr.squash,
      squash_on_merge: mr.squash,
      task_completion_status: { count: 0, completed_count: 0 },
      has_conflicts: false,
      blocking_discussions_resolved: true,
    };
  };

  const fullJson = async (project: StoredProject, mr: StoredMergeRequest) => {
    const refs = await refsOf(project, mr);
    const diffs = refs.base && refs.head ? await git.diff(project.path_with_namespace, refs.base, refs.head) : [];
    return {
      ...(await basicJson(project, mr)),
      subscribed: false,
      changes_count: String(diffs.length),
      latest_build_started_at: null,
      latest_build_finished_at: null,
      first_deployed_to_production_at: null,
      pipeline: null,
      head_pipeline: null,
      diff_refs: refs.head ? { base_sha: refs.base ?? null, head_sha: refs.head, start_sha: refs.start ?? null } : null,
      merge_error: null,
      first_contribution: false,
      user: { can_merge: mr.state === 'opened' },
      diffs,
    };
  };

  /** GitLab's `validate_branches`: one open MR per source and target branch. */
  const conflictOf = (project: StoredProject, mr: Pick<StoredMergeRequest, 'id' | 'source_branch' | 'target_branch'>) =>
    state.mergeRequests
      .list({ parent: project.id })
      .find(
        other =>
          other.id !== mr.id &&
          other.state === 'opened' &&
          other.source_branch === mr.source_branch &&
          other.target_branch === mr.target_branch,
      );

  const conflictError = (other: StoredMergeRequest) =>
    new HttpError(409, { message: [`Another open merge request already exists for this source branch: !${other.iid}`] });

  return {
    'GET /api/v4/projects/:id/merge_requests': async ctx => {
      const project = kit.projectOf(ctx);
      const { input } = ctx;
      const wanted = str(input.state) ?? 'all';
      if (!STATES.includes(wanted)) throw paramError('state does not have a valid value');
      const labels = labelsOf(input.labels);
      const search = str(input.search)?.toLowerCase();
      const iids = (stringList(input.iids ?? input['iids[]']) ?? []).map(Number);
      const orderBy = str(input.order_by) ?? 'created_at';
      const sort = str(input.sort) ?? 'desc';
      const items = state.mergeRequests
        .list({ parent: project.id })
        .filter(mr => wanted === 'all' || mr.state === wanted)
        .filter(mr => !str(input.source_branch) || mr.source_branch === str(input.source_branch))
        .filter(mr => !str(input.target_branch) || mr.target_branch === str(input.target_branch))
        .filter(mr => {
          if (labels.length === 1 && labels[0].toLowerCase() === 'none') return mr.labels.length === 0;
          if (labels.length === 1 && labels[0].toLowerCase() === 'any') return mr.labels.length > 0;
          return labels.every(l => mr.labels.includes(l));
        })
        .filter(mr => !search || `${mr.title}\n${mr.description}`.toLowerCase().includes(search))
        .filter(mr => iids.length === 0 || iids.includes(mr.iid))
        .sort((a, b) => {
          const key = (['updated_at', 'title'] as const).find(k => k === orderBy) ?? 'created_at';
          let order = a[key].localeCompare(b[key]);
          if (order === 0) order = a.id - b.id;
          return sort === 'asc' ? order : -order;
        });
      return kit.paginate(ctx, items, mr => basicJson(project, mr));
    },

    'POST /api/v4/projects/:id/merge_requests': async ctx => {
      const project = kit.writableProjectOf(ctx);
      const { input } = ctx;
      const source = str(input.source_branch);
      const target = str(input.target_branch);
      const title = str(input.title);
      if (!source) throw paramError('source_branch is missing');
      if (!target) throw paramError('target_branch is missing');
      if (!title) throw paramError('title is missing');
      if (source === target) {
        throw new HttpError(409, { message: ["You can't use same project/branch for source and target"] });
      }
      for (const [field, branch] of [['source_branch', source], ['target_branch', target]] as const) {
        if (!(await isValidBranchName(branch))) throw badRequest({ [field]: ['is invalid'] });
      }
      const full = project.path_with_namespace;
      if (!(await kit.repos.resolve(full, `refs/heads/${source}`))) {
        throw badRequest({ source_branch: [`Source branch "${source}" does not exist`] });
      }
      if (!(await kit.repos.resolve(full, `refs/heads/${target}`))) {
        throw badRequest({ target_branch: [`Target branch "${target}" does not exist`] });
      }
      // Checked and stored with no await in between: concurrent creates cannot both pass.
      const conflict = conflictOf(project, { id: -1, source_branch: source, target_branch: target });
      if (conflict) throw conflictError(conflict);
      const now = new Date().toISOString();
      const mr = state.mergeRequests.put({
        id: state.nextId('merge_request'),
        iid: state.nextId(`merge_request_iid:${project.id}`),
        project_id: project.id,
        title,
        description: str(input.description) ?? '',
        state: 'opened',
        source_branch: source,
        target_branch: target,
        labels: labelsOf(input.labels),
        created_at: now,
        updated_at: now,
        closed_at: null,
        merged_at: null,
        merge_commit_sha: null,
        should_remove_source_branch: bool(input.remove_source_branch) ?? null,
        squash: bool(input.squash) ?? false,
      });
      const { diffs: _d, ...body } = await fullJson(project, mr);
      return { status: 201, body };
    },

    'GET /api/v4/projects/:id/merge_requests/:merge_request_iid': async ctx => {
      const project = kit.projectOf(ctx);
      const { diffs: _d, ...body } = await fullJson(project, mrOf(ctx, project));
      return { body };
    },

    'PUT /api/v4/projects/:id/merge_requests/:merge_request_iid': async ctx => {
      const project = kit.writableProjectOf(ctx);
      const mr = mrOf(ctx, project);
      const { input } = ctx;
      const next: StoredMergeRequest = { ...mr };
      if (str(input.title) !== undefined) {
        if (!str(input.title)) throw badRequest({ title: ["can't be blank"] });
        next.title = str(input.title)!;
      }
      if (str(input.description) !== undefined) next.description = str(input.description)!;
      if (input.labels !== undefined) next.labels = labelsOf(input.labels);
      for (const l of labelsOf(input.add_labels)) if (!next.labels.includes(l)) next.labels = [...next.labels, l];
      const remove = labelsOf(input.remove_labels);
      next.labels = next.labels.filter(l => !remove.includes(l));
      if (str(input.target_branch)) next.target_branch = str(input.target_branch)!;
      if (input.remove_source_branch !== undefined) next.should_remove_source_branch = bool(input.remove_source_branch) ?? null;
      if (input.squash !== undefined) next.squash = bool(input.squash) ?? false;
      const event = str(input.state_event);
      if (event === 'close' && mr.state === 'opened') {
        next.state = 'closed';
        next.closed_at = new Date().toISOString();
      } else if (event === 'reopen' && mr.state === 'closed') {
        next.state = 'opened';
        next.closed_at = null;
      } else if (event !== undefined && event !== 'close' && event !== 'reopen') {
        throw paramError('state_event does not have a valid value');
      }
      if (next.state === 'opened') {
        const conflict = conflictOf(project, next);
        if (conflict) throw conflictError(conflict);
      }
      next.updated_at = new Date().toISOString();
      state.mergeRequests.put(next);
      const { diffs: _d, ...body } = await fullJson(project, next);
      return { body };
    },

    'GET /api/v4/projects/:id/merge_requests/:merge_request_iid/diffs': async ctx => {
      const project = kit.projectOf(ctx);
      const { diffs } = await fullJson(project, mrOf(ctx, project));
      return kit.paginate(ctx, diffs);
    },

    /** Deprecated by GitLab for `/diffs`, still served: the MR with `changes`. */
    'GET /api/v4/projects/:id/merge_requests/:merge_request_iid/changes': async ctx => {
      const project = kit.projectOf(ctx);
      const { diffs, ...body } = await fullJson(project, mrOf(ctx, project));
      return { body: { ...body, changes: diffs, overflow: false } };
    },
  };
}
