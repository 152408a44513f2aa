/**
 * A small, stateful fake of the GitLab REST API (v4) for msw: groups,
 * projects (with deferred deletion as in GitLab 18), repository files per
 * branch, commits, protected branches, CI/CD variables and project access
 * tokens. Tests act through the real client and assert the fake's state.
 *
 * Request bodies are checked against hand-written zod schemas. GitLab
 * publishes no usable OpenAPI description for these endpoints (its
 * `openapi_v2.yaml` is generated for a fraction of the API and does not cover
 * commit actions, protected branches, variables or access tokens), so the
 * schemas follow the REST documentation. A request that does not match is
 * answered 400 and recorded in `schemaViolations`.
 *
 * Test-only module: never import it from production code.
 */
import { createHash } from 'node:crypto';
import { http, HttpResponse, type HttpHandler } from 'msw';
import { z } from 'zod';

// ---------------------------------------------------------------------------
// Request schemas (snake_case, as on the wire)
// ---------------------------------------------------------------------------

/** Query-string values arrive as strings, JSON bodies as typed values. */
const booleanParam = z.union([
  z.boolean(),
  z.enum(['true', 'false']).transform(value => value === 'true'),
]);
const accessLevelParam = (levels: number[]) =>
  z.coerce
    .number()
    .int()
    .refine(level => levels.includes(level), {
      message: `access level must be one of ${levels.join(', ')}`,
    });

/** POST /projects */
export const createProjectSchema = z.strictObject({
  name: z.string().min(1),
  path: z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/),
  namespace_id: z.number().int().positive(),
  description: z.string().optional(),
  topics: z.array(z.string().min(1)).optional(),
  visibility: z.enum(['private', 'internal', 'public']).optional(),
  default_branch: z.string().min(1).optional(),
  initialize_with_readme: z.boolean().optional(),
});

const commitActionSchema = z
  .strictObject({
    action: z.enum(['create', 'update', 'delete']),
    file_path: z.string().min(1),
    content: z.string().optional(),
    encoding: z.enum(['text', 'base64']).optional(),
    execute_filemode: z.boolean().optional(),
    last_commit_id: z.string().optional(),
  })
  .refine(
    action => action.action === 'delete' || action.content !== undefined,
    {
      message: 'content is required for create and update',
    },
  );

/** POST /projects/:id/repository/commits */
export const createCommitSchema = z.strictObject({
  branch: z.string().min(1),
  commit_message: z.string().min(1),
  actions: z.array(commitActionSchema).min(1),
  start_branch: z.string().optional(),
  author_email: z.string().optional(),
  author_name: z.string().optional(),
});

/** POST /projects/:id/protected_branches (gitbeaker sends these in the query). */
export const protectBranchSchema = z.strictObject({
  name: z.string().min(1),
  push_access_level: accessLevelParam([0, 30, 40, 60]).optional(),
  merge_access_level: accessLevelParam([0, 30, 40, 60]).optional(),
  unprotect_access_level: accessLevelParam([30, 40, 60]).optional(),
  allow_force_push: booleanParam.optional(),
  code_owner_approval_required: booleanParam.optional(),
});

const variableFields = {
  value: z.string(),
  variable_type: z.enum(['env_var', 'file']).optional(),
  masked: z.boolean().optional(),
  protected: z.boolean().optional(),
  raw: z.boolean().optional(),
  environment_scope: z.string().optional(),
  description: z.string().optional(),
};

/** POST /projects/:id/variables (`masked_and_hidden`: GitLab 17.4+, create only). */
export const createVariableSchema = z.strictObject({
  key: z
    .string()
    .max(255)
    .regex(/^[A-Za-z0-9_]+$/),
  ...variableFields,
  masked_and_hidden: z.boolean().optional(),
});

/** PUT /projects/:id/variables/:key */
export const updateVariableSchema = z.strictObject({
  ...variableFields,
  filter: z.strictObject({ environment_scope: z.string() }).optional(),
});

/** POST /projects/:id/access_tokens */
export const createAccessTokenSchema = z.strictObject({
  name: z.string().min(1),
  scopes: z
    .array(
      z.enum([
        'api',
        'read_api',
        'read_repository',
        'write_repository',
        'read_registry',
        'write_registry',
        'create_runner',
      ]),
    )
    .min(1),
  expires_at: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  access_level: accessLevelParam([10, 20, 30, 40, 50]).optional(),
  description: z.string().optional(),
});

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

export interface FakeGroup {
  id: number;
  fullPath: string;
}

export interface FakeVariable {
  key: string;
  value: string;
  variableType: 'env_var' | 'file';
  masked: boolean;
  protected: boolean;
  /** Set only at creation; its value is never answered again. */
  hidden?: boolean;
}

export interface FakeProtectedBranch {
  name: string;
  pushAccessLevel: number;
  mergeAccessLevel: number;
  allowForcePush: boolean;
}

export interface FakeCommit {
  sha: string;
  branch: string;
  message: string;
  actions: { action: string; filePath: string }[];
}

export interface FakeProject {
  id: number;
  name: string;
  path: string;
  pathWithNamespace: string;
  namespaceId: number;
  description: string;
  topics: string[];
  visibility: string;
  defaultBranch: string;
  /** branch → (file path → content) */
  branches: Map<string, Map<string, string>>;
  commits: FakeCommit[];
  protectedBranches: Map<string, FakeProtectedBranch>;
  variables: Map<string, FakeVariable>;
  accessTokens: {
    id: number;
    name: string;
    scopes: string[];
    accessLevel: number;
    expiresAt: string;
    token: string;
  }[];
  /** Set by a plain DELETE; the path stays taken until a permanent delete. */
  markedForDeletion: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path below the API root, e.g. `/projects/7/repository/commits`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface GitLabFake {
  /** msw handlers; pass them to `server.use(...)`. */
  handlers: HttpHandler[];
  groups: Map<string, FakeGroup>;
  /** id → project (including projects marked for deletion). */
  projects: Map<number, FakeProject>;
  /** Every request that reached the fake, in order. */
  requests: RecordedRequest[];
  /** Requests whose body or query did not match the schemas above. */
  schemaViolations: { method: string; path: string; issues: string }[];
  addGroup(fullPath: string): FakeGroup;
  /** Seeds a project; `files` go on `branch` (default main). */
  addProject(opts: {
    groupPath: string;
    name: string;
    description?: string;
    topics?: string[];
    files?: Record<string, string>;
    branch?: string;
  }): FakeProject;
  /** The project at `fullPath`, if any. */
  project(fullPath: string): FakeProject | undefined;
}

/**
 * Creates an empty fake GitLab answering at `apiUrl` (e.g.
 * `https://gitlab.example.com/api/v4`) for requests carrying `token` in the
 * `PRIVATE-TOKEN` header; anything else gets 401.
 */
export function createGitLabFake(opts: {
  apiUrl: string;
  token: string;
  /**
   * GitLab 18 default (true): a plain DELETE only marks the project for
   * deletion. False: it deletes at once, like an instance without delayed
   * deletion.
   */
  delayedDeletion?: boolean;
}): GitLabFake {
  const delayedDeletion = opts.delayedDeletion ?? true;
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const apiPath = new URL(apiUrl).pathname;
  const webBase = apiUrl.replace(/\/api\/v4$/, '');
  let nextId = 1;
  const groups = new Map<string, FakeGroup>();
  const projects = new Map<number, FakeProject>();
  const requests: RecordedRequest[] = [];
  const schemaViolations: GitLabFake['schemaViolations'] = [];

  const error = (status: number, message: unknown) =>
    HttpResponse.json({ message }, { status });
  const notFound = (what: string) => error(404, `404 ${what} Not Found`);

  const findProject = (idOrPath: string) => {
    const decoded = decodeURIComponent(idOrPath);
    if (/^\d+$/.test(decoded)) {
      return projects.get(Number(decoded));
    }
    return [...projects.values()].find(p => p.pathWithNamespace === decoded);
  };

  const projectJson = (p: FakeProject) => ({
    id: p.id,
    name: p.name,
    path: p.path,
    path_with_namespace: p.pathWithNamespace,
    name_with_namespace: p.pathWithNamespace.replace(/\//g, ' / '),
    namespace: { id: p.namespaceId },
    description: p.description,
    topics: p.topics,
    visibility: p.visibility,
    default_branch: p.defaultBranch,
    empty_repo: p.branches.size === 0,
    web_url: `${webBase}/${p.pathWithNamespace}`,
    http_url_to_repo: `${webBase}/${p.pathWithNamespace}.git`,
    ssh_url_to_repo: `git@${new URL(webBase).host}:${p.pathWithNamespace}.git`,
    marked_for_deletion_on: p.markedForDeletion ? '2025-01-01' : null,
  });

  const addProjectState = (fields: {
    name: string;
    path: string;
    group: FakeGroup;
    description: string;
    topics: string[];
    visibility: string;
    defaultBranch: string;
  }): FakeProject => {
    const project: FakeProject = {
      id: nextId++,
      name: fields.name,
      path: fields.path,
      pathWithNamespace: `${fields.group.fullPath}/${fields.path}`,
      namespaceId: fields.group.id,
      description: fields.description,
      topics: fields.topics,
      visibility: fields.visibility,
      defaultBranch: fields.defaultBranch,
      branches: new Map(),
      commits: [],
      protectedBranches: new Map(),
      variables: new Map(),
      accessTokens: [],
      markedForDeletion: false,
    };
    projects.set(project.id, project);
    return project;
  };

  const sha = (...parts: unknown[]) =>
    createHash('sha1').update(JSON.stringify(parts)).digest('hex');

  /** Validates `input`; on failure records it and returns a 400 response. */
  function validate<T extends z.ZodTypeAny>(
    schema: T,
    input: unknown,
    request: RecordedRequest,
  ): { ok: true; data: z.output<T> } | { ok: false; response: Response } {
    const result = schema.safeParse(input);
    if (result.success) {
      return { ok: true, data: result.data };
    }
    const issues = result.error.issues
      .map(issue => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    schemaViolations.push({
      method: request.method,
      path: request.path,
      issues,
    });
    return { ok: false, response: error(400, `schema: ${issues}`) };
  }

  type Handler = (args: {
    params: Record<string, string>;
    request: RecordedRequest;
    url: URL;
  }) => Response | Promise<Response>;

  /** Authenticates, records the request, then runs `handle`. */
  const route =
    (handle: Handler) =>
    async ({
      request,
      params,
    }: {
      request: Request;
      params: Record<string, string | readonly string[] | undefined>;
    }) => {
      const url = new URL(request.url);
      const text = await request.text();
      let body: unknown = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const recorded: RecordedRequest = {
        method: request.method,
        path: url.pathname.slice(apiPath.length),
        query: Object.fromEntries(url.searchParams),
        body,
      };
      requests.push(recorded);
      if (request.headers.get('private-token') !== opts.token) {
        return error(401, '401 Unauthorized');
      }
      return handle({
        params: Object.fromEntries(
          Object.entries(params).map(([k, v]) => [k, String(v)]),
        ),
        request: recorded,
        url,
      });
    };

  /** Grape merges query and body parameters; so does the fake. */
  const paramsOf = (request: RecordedRequest) => ({
    ...request.query,
    ...(typeof request.body === 'object' && request.body !== null
      ? (request.body as Record<string, unknown>)
      : {}),
  });

  const handlers: HttpHandler[] = [
    http.get(
      `${apiUrl}/groups/:id`,
      route(({ params }) => {
        const group = groups.get(decodeURIComponent(params.id));
        return group
          ? HttpResponse.json({
              id: group.id,
              full_path: group.fullPath,
              path: group.fullPath.split('/').pop(),
            })
          : notFound('Group');
      }),
    ),

    http.get(
      `${apiUrl}/projects/:id`,
      route(({ params }) => {
        const project = findProject(params.id);
        return project
          ? HttpResponse.json(projectJson(project))
          : notFound('Project');
      }),
    ),

    http.post(
      `${apiUrl}/projects`,
      route(({ request }) => {
        const checked = validate(createProjectSchema, request.body, request);
        if (!checked.ok) return checked.response;
        const input = checked.data;
        const group = [...groups.values()].find(
          g => g.id === input.namespace_id,
        );
        if (!group) return notFound('Namespace');
        if (findProject(`${group.fullPath}/${input.path}`)) {
          return error(400, {
            name: ['has already been taken'],
            path: ['has already been taken'],
          });
        }
        const project = addProjectState({
          name: input.name,
          path: input.path,
          group,
          description: input.description ?? '',
          topics: input.topics ?? [],
          visibility: input.visibility ?? 'private',
          defaultBranch: input.default_branch ?? 'main',
        });
        if (input.initialize_with_readme) {
          project.branches.set(
            project.defaultBranch,
            new Map([['README.md', '']]),
          );
        }
        return HttpResponse.json(projectJson(project), { status: 201 });
      }),
    ),

    http.delete(
      `${apiUrl}/projects/:id`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const input = paramsOf(request);
        if (String(input.permanently_remove) === 'true') {
          if (input.full_path !== project.pathWithNamespace) {
            return error(400, 'full_path does not match the project path');
          }
          if (!project.markedForDeletion) {
            return error(400, 'Project must be marked for deletion first');
          }
          projects.delete(project.id);
          return HttpResponse.json(
            { message: '202 Accepted' },
            { status: 202 },
          );
        }
        if (project.markedForDeletion) {
          return error(400, 'Project has been already marked for deletion');
        }
        if (delayedDeletion) {
          project.markedForDeletion = true;
        } else {
          projects.delete(project.id);
        }
        return HttpResponse.json({ message: '202 Accepted' }, { status: 202 });
      }),
    ),

    http.get(
      `${apiUrl}/projects/:id/repository/tree`,
      route(({ params, request, url }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const ref = request.query.ref ?? project.defaultBranch;
        const files = project.branches.get(ref);
        if (!files) return notFound('Tree');
        const recursive = request.query.recursive === 'true';
        const entries = new Map<
          string,
          { type: 'tree' | 'blob'; path: string }
        >();
        for (const filePath of files.keys()) {
          const segments = filePath.split('/');
          if (!recursive) {
            const top = segments[0];
            entries.set(top, {
              type: segments.length > 1 ? 'tree' : 'blob',
              path: top,
            });
            continue;
          }
          for (let i = 1; i < segments.length; i++) {
            const dir = segments.slice(0, i).join('/');
            entries.set(dir, { type: 'tree', path: dir });
          }
          entries.set(filePath, { type: 'blob', path: filePath });
        }
        const all = [...entries.values()]
          .sort((a, b) => a.path.localeCompare(b.path))
          .map(entry => ({
            id: sha(entry.path),
            name: entry.path.split('/').pop(),
            type: entry.type,
            path: entry.path,
            mode: entry.type === 'tree' ? '040000' : '100644',
          }));
        const perPage = Math.min(Number(request.query.per_page ?? 20), 100);
        const page = Number(request.query.page ?? 1);
        const slice = all.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {
          'x-page': String(page),
          'x-per-page': String(perPage),
        };
        if (page * perPage < all.length) {
          const next = new URL(url);
          next.searchParams.set('page', String(page + 1));
          next.searchParams.set('per_page', String(perPage));
          headers.link = `<${next.toString()}>; rel="next"`;
          headers['x-next-page'] = String(page + 1);
        }
        return HttpResponse.json(slice, { headers });
      }),
    ),

    http.post(
      `${apiUrl}/projects/:id/repository/commits`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const checked = validate(createCommitSchema, request.body, request);
        if (!checked.ok) return checked.response;
        const input = checked.data;
        let files = project.branches.get(input.branch);
        if (!files) {
          const start = input.start_branch
            ? project.branches.get(input.start_branch)
            : undefined;
          if (project.branches.size > 0 && !start) {
            return error(
              400,
              `You can only create or edit files when you are on a branch`,
            );
          }
          files = new Map(start ?? []);
        }
        const updated = new Map(files);
        for (const action of input.actions) {
          const exists = updated.has(action.file_path);
          if (action.action === 'create' && exists) {
            return error(400, 'A file with this name already exists');
          }
          if (action.action !== 'create' && !exists) {
            return error(400, "A file with this name doesn't exist");
          }
          if (action.action === 'delete') {
            updated.delete(action.file_path);
          } else {
            const content = action.content ?? '';
            updated.set(
              action.file_path,
              action.encoding === 'base64'
                ? Buffer.from(content, 'base64').toString('utf8')
                : content,
            );
          }
        }
        project.branches.set(input.branch, updated);
        const commit: FakeCommit = {
          sha: sha(project.id, project.commits.length, input),
          branch: input.branch,
          message: input.commit_message,
          actions: input.actions.map(a => ({
            action: a.action,
            filePath: a.file_path,
          })),
        };
        project.commits.push(commit);
        return HttpResponse.json(
          {
            id: commit.sha,
            short_id: commit.sha.slice(0, 8),
            title: commit.message.split('\n')[0],
            message: commit.message,
          },
          { status: 201 },
        );
      }),
    ),

    http.post(
      `${apiUrl}/projects/:id/protected_branches`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const checked = validate(
          protectBranchSchema,
          paramsOf(request),
          request,
        );
        if (!checked.ok) return checked.response;
        const input = checked.data;
        if (project.protectedBranches.has(input.name)) {
          return error(409, `Protected branch '${input.name}' already exists`);
        }
        const branch: FakeProtectedBranch = {
          name: input.name,
          pushAccessLevel: input.push_access_level ?? 40,
          mergeAccessLevel: input.merge_access_level ?? 40,
          allowForcePush: input.allow_force_push ?? false,
        };
        project.protectedBranches.set(branch.name, branch);
        return HttpResponse.json(
          {
            id: project.protectedBranches.size,
            name: branch.name,
            push_access_levels: [{ access_level: branch.pushAccessLevel }],
            merge_access_levels: [{ access_level: branch.mergeAccessLevel }],
            allow_force_push: branch.allowForcePush,
          },
          { status: 201 },
        );
      }),
    ),

    http.post(
      `${apiUrl}/projects/:id/variables`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const checked = validate(createVariableSchema, request.body, request);
        if (!checked.ok) return checked.response;
        const input = checked.data;
        if (project.variables.has(input.key)) {
          return error(400, { key: [`(${input.key}) has already been taken`] });
        }
        const hidden = input.masked_and_hidden ?? false;
        if ((input.masked || hidden) && !gitlabCanMask(input.value)) {
          return error(400, { value: ['is invalid'] });
        }
        const variable: FakeVariable = {
          key: input.key,
          value: input.value,
          variableType: input.variable_type ?? 'env_var',
          masked: (input.masked ?? false) || hidden,
          protected: input.protected ?? false,
          ...(hidden ? { hidden } : {}),
        };
        project.variables.set(variable.key, variable);
        return HttpResponse.json(variableJson(variable), { status: 201 });
      }),
    ),

    http.put(
      `${apiUrl}/projects/:id/variables/:key`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const checked = validate(updateVariableSchema, request.body, request);
        if (!checked.ok) return checked.response;
        const input = checked.data;
        const existing = project.variables.get(params.key);
        if (!existing) return notFound('Variable');
        if (existing.hidden && input.masked === false) {
          return error(400, 'The visibility setting cannot be changed for existing variables.');
        }
        if ((input.masked ?? existing.masked) && !gitlabCanMask(input.value)) {
          return error(400, { value: ['is invalid'] });
        }
        const variable: FakeVariable = {
          key: existing.key,
          value: input.value,
          variableType: input.variable_type ?? existing.variableType,
          masked: input.masked ?? existing.masked,
          protected: input.protected ?? existing.protected,
        };
        project.variables.set(variable.key, variable);
        return HttpResponse.json(variableJson(variable));
      }),
    ),

    http.delete(
      `${apiUrl}/projects/:id/variables/:key`,
      route(({ params }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        if (!project.variables.delete(String(params.key))) return notFound('Variable');
        return new HttpResponse(null, { status: 204 });
      }),
    ),

    http.get(
      `${apiUrl}/projects/:id/protected_branches/:name`,
      route(({ params }) => {
        const project = findProject(params.id);
        const branch = project?.protectedBranches.get(String(params.name));
        if (!branch) return notFound('Protected Branch');
        return HttpResponse.json({
          name: branch.name,
          push_access_levels: [{ access_level: branch.pushAccessLevel }],
          merge_access_levels: [{ access_level: branch.mergeAccessLevel }],
          allow_force_push: branch.allowForcePush,
        });
      }),
    ),

    http.delete(
      `${apiUrl}/projects/:id/protected_branches/:name`,
      route(({ params }) => {
        const project = findProject(params.id);
        if (!project?.protectedBranches.delete(String(params.name))) {
          return notFound('Protected Branch');
        }
        return new HttpResponse(null, { status: 204 });
      }),
    ),

    http.post(
      `${apiUrl}/projects/:id/access_tokens`,
      route(({ params, request }) => {
        const project = findProject(params.id);
        if (!project) return notFound('Project');
        const checked = validate(
          createAccessTokenSchema,
          request.body,
          request,
        );
        if (!checked.ok) return checked.response;
        const input = checked.data;
        const token = {
          id: nextId++,
          name: input.name,
          scopes: input.scopes,
          accessLevel: input.access_level ?? 40,
          expiresAt: input.expires_at,
          token: `glpat-${sha(project.id, input.name).slice(0, 20)}`,
        };
        project.accessTokens.push(token);
        return HttpResponse.json(
          {
            id: token.id,
            name: token.name,
            scopes: token.scopes,
            access_level: token.accessLevel,
            expires_at: token.expiresAt,
            active: true,
            revoked: false,
            user_id: 1000 + token.id,
            created_at: '2025-01-01T00:00:00Z',
            token: token.token,
          },
          { status: 201 },
        );
      }),
    ),
  ];

  return {
    handlers,
    groups,
    projects,
    requests,
    schemaViolations,
    addGroup(fullPath) {
      const group = { id: nextId++, fullPath };
      groups.set(fullPath, group);
      return group;
    },
    addProject({ groupPath, name, description, topics, files, branch }) {
      const group = groups.get(groupPath) ?? this.addGroup(groupPath);
      const project = addProjectState({
        name,
        path: name,
        group,
        description: description ?? '',
        topics: topics ?? [],
        visibility: 'private',
        defaultBranch: 'main',
      });
      if (files) {
        project.branches.set(branch ?? 'main', new Map(Object.entries(files)));
      }
      return project;
    },
    project(fullPath) {
      return findProject(fullPath);
    },
  };
}

function variableJson(variable: FakeVariable) {
  return {
    key: variable.key,
    ...(variable.hidden ? { hidden: true } : { value: variable.value }),
    variable_type: variable.variableType,
    masked: variable.masked,
    protected: variable.protected,
    environment_scope: '*',
  };
}

/** GitLab's own masking check, as the server applies it. */
function gitlabCanMask(value: string): boolean {
  return value.length >= 8 && /^[A-Za-z0-9+/=@:.~_-]+$/.test(value);
}
