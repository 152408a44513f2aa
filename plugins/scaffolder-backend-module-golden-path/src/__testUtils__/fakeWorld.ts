import { ConflictError, NotFoundError } from '@backstage/errors';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import yaml from 'yaml';
import {
  ArgoCdApi,
  AwsRegistryApi,
  EcrRepository,
  GitLabApi,
  GitLabHook,
  GitLabProject,
  IamPolicy,
  IamRole,
  KubernetesApi,
  KubernetesObject,
} from '@internal/plugin-golden-path-node';
import { CatalogApi } from '@internal/plugin-golden-path-node';

/**
 * An in-memory GitLab + AWS + ArgoCD + Kubernetes + catalog that implements
 * the client ports with the same contracts (ConflictError on create of an
 * existing resource, idempotent deletes), records every call, and can fail
 * any call on demand. Used to test the saga across all actions; the real
 * clients are tested against HTTP/SDK mocks in their own tests.
 */
export class FakeWorld {
  readonly calls: string[] = [];
  /** Fails the call whose 1-based index (counting all calls) is `failAt`. */
  failAt?: number;
  /** The call with this index takes effect and then never answers. */
  crashAt?: number;
  /** Called with each call's name before it runs (e.g. to cancel a task mid-run). */
  onCall?: (name: string) => void;
  /** Secrets the fake hands out; tests assert they never leak. */
  readonly canaries = {
    gitlabAccessToken: 'canary-gitlab-access-token-0f6c2a91',
    awsSecretAccessKey: 'canary/aws+secret0key0value0b7e41d9',
    argocdWebhookSecret: 'canary-argocd-webhook-secret-5d0e7c',
  };

  projects = new Map<
    string,
    GitLabProject & {
      /** Archived / scheduled for deletion by a decommission. */
      archived?: boolean;
      markedForDeletionOn?: string | null;
      files: Map<string, string>;
      variables: Map<string, string>;
      protected: Set<string>;
      tokens: number[];
      hooks: GitLabHook[];
    }
  >();
  repositories = new Map<string, EcrRepository>();
  policies = new Map<string, IamPolicy & { document: object }>();
  users = new Map<
    string,
    {
      policyArn: string;
      keys: string[];
      tags: Record<string, string>;
      boundaryArn?: string;
    }
  >();
  roles = new Map<
    string,
    IamRole & { policyArns: string[]; description: string }
  >();
  /** Names of the project access tokens, by id. */
  tokenNames = new Map<number, string>();
  argoProjects = new Map<string, Record<string, any>>();
  argoApps = new Map<string, Record<string, any>>();
  k8s = new Map<string, KubernetesObject>();
  /** Entities the catalog has besides registered services (users, groups). */
  catalogEntities = new Set<string>([
    'group:default/team-a',
    'group:default/team-payments',
  ]);
  locations = new Map<
    string,
    { target: string; entityRefs: string[]; markers: string[] }
  >();
  #ids = 100;

  /**
   * Wraps a port so every call is recorded and can be made to fail (before
   * it has any effect) or to "crash" (after its effect, never answering, as
   * when the process dies while the request is in flight).
   */
  #wrap<T extends object>(system: string, impl: T): T {
    return new Proxy(impl, {
      get: (target, prop, receiver) => {
        const fn = Reflect.get(target, prop, receiver);
        if (typeof fn !== 'function') return fn;
        return async (...args: unknown[]) => {
          const name = `${system}.${String(prop)}`;
          this.calls.push(name);
          const index = this.calls.length;
          this.onCall?.(name);
          if (this.failAt === index) {
            throw new Error(`injected failure in ${name} (call ${index})`);
          }
          const result = await fn.apply(target, args);
          if (this.crashAt === index) return new Promise(() => {});
          return result;
        };
      },
    });
  }

  /** Everything that exists for service `name`, as readable ids. */
  resourcesFor(name: string): string[] {
    const mine = (id: string) =>
      id
        .split(/[/:]/)
        .some(
          part =>
            part === name ||
            part === `${name}-gitops` ||
            part === `idp-${name}-ecr-push-pull` ||
            part === `idp-${name}-ci` ||
            part === `idp-${name}-secrets` ||
            part === `idp-${name}-secrets-read`,
        );
    return [
      ...[...this.projects.keys()].map(k => `gitlab:${k}`),
      ...[...this.repositories.keys()].map(k => `ecr:${k}`),
      ...[...this.policies.keys()].map(k => `iam-policy:${k}`),
      ...[...this.users.keys()].map(k => `iam-user:${k}`),
      ...[...this.roles.keys()].map(k => `iam-role:${k}`),
      ...[...this.argoProjects.keys()].map(k => `argocd-project:${k}`),
      ...[...this.argoApps.keys()].map(k => `argocd-app:${k}`),
      ...[...this.k8s.keys()].map(k => `k8s:${k}`),
      ...[...this.locations.values()].flatMap(l =>
        l.entityRefs.map(r => `catalog:${r}`),
      ),
    ].filter(mine);
  }

  readonly gitlab = this.#wrap<GitLabApi>('gitlab', {
    findProject: async fullPath => {
      const p = this.projects.get(fullPath);
      return (
        p && {
          id: p.id,
          pathWithNamespace: p.pathWithNamespace,
          webUrl: p.webUrl,
          httpUrlToRepo: p.httpUrlToRepo,
          description: p.description,
          topics: [...p.topics],
          archived: p.archived ?? false,
          markedForDeletionOn: p.markedForDeletionOn ?? null,
        }
      );
    },
    listVariables: async projectId =>
      [...this.#project(projectId).variables.keys()].map(key => ({
        key,
        environmentScope: '*',
      })),
    deleteVariable: async (projectId, { key }) => {
      this.#project(projectId).variables.delete(key);
    },
    listActiveProjectAccessTokens: async projectId =>
      this.#project(projectId).tokens.map(id => ({
        id,
        name: this.tokenNames.get(id) ?? `access token ${id}`,
      })),
    revokeProjectAccessToken: async (projectId, tokenId) => {
      const p = this.#project(projectId);
      p.tokens = p.tokens.filter(id => id !== tokenId);
    },
    archiveProject: async projectId => {
      this.#project(projectId).archived = true;
    },
    scheduleProjectDeletion: async ({ id }) => {
      const p = [...this.projects.values()].find(x => x.id === id);
      if (p && !p.markedForDeletionOn) p.markedForDeletionOn = '2026-12-01';
    },
    createProject: async ({ groupPath, name, description, topics }) => {
      const fullPath = `${groupPath}/${name}`;
      if (this.projects.has(fullPath))
        throw new ConflictError(
          `GitLab project ${fullPath} has already been taken`,
        );
      const p = {
        id: this.#ids++,
        pathWithNamespace: fullPath,
        webUrl: `https://gitlab.test/${fullPath}`,
        httpUrlToRepo: `https://gitlab.test/${fullPath}.git`,
        description,
        topics: [...topics],
        files: new Map<string, string>(),
        variables: new Map<string, string>(),
        protected: new Set<string>(),
        tokens: [] as number[],
        hooks: [] as GitLabHook[],
      };
      this.projects.set(fullPath, p);
      return {
        id: p.id,
        pathWithNamespace: fullPath,
        webUrl: p.webUrl,
        httpUrlToRepo: p.httpUrlToRepo,
        description,
        topics: [...topics],
      };
    },
    commitFiles: async (projectId, { files }) => {
      const p = this.#project(projectId);
      for (const f of files) p.files.set(f.path, f.content);
      return { sha: `sha-${this.calls.length}` };
    },
    protectBranch: async (projectId, branch) => {
      this.#project(projectId).protected.add(branch);
    },
    setVariable: async (projectId, v) => {
      this.#project(projectId).variables.set(v.key, v.value);
    },
    createProjectAccessToken: async (projectId, { name }) => {
      const id = this.#ids++;
      this.#project(projectId).tokens.push(id);
      this.tokenNames.set(id, name);
      return { id, token: this.canaries.gitlabAccessToken };
    },
    deleteProject: async ({ pathWithNamespace }) => {
      this.projects.delete(pathWithNamespace);
    },
    listHooks: async projectId => [...this.#project(projectId).hooks],
    addPushHook: async (projectId, { url, branch, description }) => {
      const hook = { id: this.#ids++, url, description, pushEvents: true, branchFilter: branch };
      this.#project(projectId).hooks.push(hook);
      return hook;
    },
    deleteHook: async (projectId, hookId) => {
      const p = [...this.projects.values()].find(x => x.id === projectId);
      if (p) p.hooks = p.hooks.filter(h => h.id !== hookId);
    },
  });

  /** The run marker in catalog-info.yaml that `target` points at, as the catalog would read it. */
  #markersOf(target: string): string[] {
    const path = new URL(target).pathname.split('/-/')[0].slice(1);
    const content = this.projects.get(path)?.files.get('catalog-info.yaml');
    const marker = content
      ? (yaml.parse(content)?.metadata?.annotations?.[RUN_MARKER_KEY] as string | undefined)
      : undefined;
    return marker ? [marker] : [];
  }

  #project(id: number) {
    const p = [...this.projects.values()].find(x => x.id === id);
    if (!p) throw new NotFoundError(`project ${id}`);
    return p;
  }

  readonly aws = this.#wrap<AwsRegistryApi>('aws', {
    findRepository: async name => {
      return this.repositories.get(name);
    },
    createRepository: async (name, tags) => {
      if (this.repositories.has(name))
        throw new ConflictError(`ECR repository ${name} exists`);
      const r = {
        name,
        arn: `arn:aws:ecr:eu-west-1:123456789012:repository/${name}`,
        uri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${name}`,
        tags: { ...tags },
      };
      this.repositories.set(name, r);
      return r;
    },
    deleteRepository: async name => {
      this.repositories.delete(name);
    },
    findPolicy: async name => {
      return this.policies.get(name);
    },
    createPolicy: async (name, document, tags) => {
      if (this.policies.has(name))
        throw new ConflictError(`IAM policy ${name} exists`);
      const p = {
        name,
        arn: `arn:aws:iam::123456789012:policy/${name}`,
        tags: { ...tags },
        document,
      };
      this.policies.set(name, p);
      return p;
    },
    deletePolicy: async arn => {
      for (const [name, p] of this.policies)
        if (p.arn === arn) this.policies.delete(name);
    },
    ensurePolicy: async (name, document, tags) => {
      const existing = this.policies.get(name);
      if (existing) return existing;
      const p = {
        name,
        arn: `arn:aws:iam::123456789012:policy/${name}`,
        tags: { ...tags },
        document,
      };
      this.policies.set(name, p);
      return p;
    },
    findRole: async name => {
      const role = this.roles.get(name);
      return role && { ...role, tags: { ...role.tags } };
    },
    createRole: async (name, opts) => {
      if (this.roles.has(name))
        throw new ConflictError(`IAM role ${name} exists`);
      const role = {
        name,
        arn: `arn:aws:iam::123456789012:role/${name}`,
        tags: { ...opts.tags },
        permissionsBoundaryArn: opts.boundaryArn,
        trustPolicy: structuredClone(opts.trustPolicy),
        policyArns: [...opts.policyArns],
        description: opts.description,
      };
      this.roles.set(name, role);
      return role;
    },
    deleteRole: async name => {
      this.roles.delete(name);
    },
    createCiUser: async (userName, policyArn, tags, boundaryArn) => {
      if (this.users.has(userName))
        throw new ConflictError(`IAM user ${userName} exists`);
      this.users.set(userName, {
        policyArn,
        keys: ['FAKEACCESSKEYID00001'],
        tags: { ...tags },
        boundaryArn,
      });
      return {
        userName,
        accessKeyId: 'FAKEACCESSKEYID00001',
        secretAccessKey: this.canaries.awsSecretAccessKey,
      };
    },
    deleteCiUser: async userName => {
      this.users.delete(userName);
    },
    userExists: async userName => {
      return this.users.has(userName);
    },
    findCiUser: async userName => {
      const user = this.users.get(userName);
      return user && { userName, tags: { ...user.tags } };
    },
  });

  readonly argocd = this.#wrap<ArgoCdApi>('argocd', {
    getProject: async name => {
      return this.argoProjects.get(name);
    },
    ensureProject: async project => {
      const existing = this.argoProjects.get(project.metadata.name);
      if (existing) {
        if (JSON.stringify(existing.spec) !== JSON.stringify(project.spec))
          throw new ConflictError(
            `ArgoCD project ${project.metadata.name} differs`,
          );
        return 'unchanged';
      }
      this.argoProjects.set(project.metadata.name, structuredClone(project));
      return 'created';
    },
    deleteProject: async name => {
      this.argoProjects.delete(name);
    },
    getApplication: async name => {
      return this.argoApps.get(name);
    },
    ensureApplication: async app => {
      const existing = this.argoApps.get(app.metadata.name);
      if (existing) {
        if (JSON.stringify(existing.spec) !== JSON.stringify(app.spec))
          throw new ConflictError(
            `ArgoCD application ${app.metadata.name} differs`,
          );
        return 'unchanged';
      }
      this.argoApps.set(app.metadata.name, structuredClone(app));
      return 'created';
    },
    deleteApplication: async name => {
      this.argoApps.delete(name);
    },
  });

  /** One call per object, like the real client, so a fault can hit mid-bundle. */
  readonly #k8sObjects = this.#wrap('kubernetes.object', {
    apply: async (o: KubernetesObject) => {
      this.k8s.set(
        `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
        structuredClone(o),
      );
    },
    delete: async (o: KubernetesObject) => {
      this.k8s.delete(
        `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
      );
    },
  });

  readonly kubernetes = this.#wrap<KubernetesApi>('kubernetes', {
    apply: async objects => {
      for (const o of objects) await this.#k8sObjects.apply(o);
    },
    delete: async objects => {
      for (const o of [...objects].reverse()) await this.#k8sObjects.delete(o);
    },
    namespaceLabels: async name => {
      const ns = this.k8s.get(`Namespace//${name}`) as
        | { metadata: { labels?: Record<string, string> } }
        | undefined;
      return ns ? { ...(ns.metadata.labels ?? {}) } : undefined;
    },
    namespaceExists: async name => {
      return this.k8s.has(`Namespace//${name}`);
    },
    findIngressesClaimingHost: async host =>
      [...this.k8s.values()]
        .filter(o => o.kind === 'Ingress')
        .filter(o =>
          ((o as any).spec?.rules ?? []).some((r: any) => r.host === host),
        )
        .map(o => ({
          namespace: o.metadata.namespace ?? '',
          name: o.metadata.name,
        })),
    createNamespace: async namespace => {
      if (this.k8s.has(`Namespace//${namespace.metadata.name}`)) {
        throw new ConflictError(
          `namespaces "${namespace.metadata.name}" already exists`,
        );
      }
      await this.#k8sObjects.apply(namespace);
    },
  });

  readonly catalog = this.#wrap<CatalogApi>('catalog', {
    entityExists: async ref =>
      this.catalogEntities.has(ref) ||
      [...this.locations.values()].some(l => l.entityRefs.includes(ref)),
    findEntitiesNamed: async name => {
      return [...this.locations.values()]
        .flatMap(l => l.entityRefs)
        .filter(r => r.endsWith(`/${name}`));
    },
    register: async target => {
      for (const [id, l] of this.locations) {
        if (l.target === target)
          throw new ConflictError(
            `Location url:${target} already exists (${id})`,
          );
      }
      const name =
        target.split('/').find((_, i, parts) => parts[i + 1] === '-') ??
        'unknown';
      const id = `loc-${this.#ids++}`;
      this.locations.set(id, {
        target,
        entityRefs: [`component:default/${name}`],
        markers: this.#markersOf(target),
      });
      return { locationId: id, entityRefs: [`component:default/${name}`] };
    },
    findLocation: async (target: string) => {
      for (const [id, l] of this.locations)
        if (l.target === target)
          return {
            locationId: id,
            entityRefs: l.entityRefs,
            markers: [...l.markers],
          };
      return undefined;
    },
    unregister: async locationId => {
      this.locations.delete(locationId);
    },
  });
}
