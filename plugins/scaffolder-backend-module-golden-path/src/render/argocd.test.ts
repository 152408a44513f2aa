import { renderContext } from './context';
import fc from 'fast-check';
import {
  dnsLabel,
  settingsAndRequest,
  validName,
} from '../__testUtils__/arbitraries';
import {
  GLOB_METACHARACTERS,
  admitsDestination,
  admitsResource,
  admitsSource,
  globToRegExp,
} from '../__testUtils__/argocdProject';
import {
  exampleImageTag,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import {
  APP_NAMESPACED_KINDS,
  GUARD_RAIL_KINDS,
  renderApplication,
  renderAppProject,
} from './argocd';
import { deriveNames } from './derive';
import { renderGitopsObjects } from './gitops';
import { renderNamespaceBundle } from '../plan/ServicePlan';

/** What ArgoCD checks of an object an Application would apply. */
function resourceOf(object: { apiVersion: string; kind: string; metadata: { name: string } }) {
  return {
    group: object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '',
    kind: object.kind,
    namespaced: object.kind !== 'Namespace',
    name: object.metadata.name,
    server: exampleSettings.clusterServer,
  };
}

const project = renderAppProject(renderContext(exampleSettings, exampleRequest));
const application = renderApplication(renderContext(exampleSettings, exampleRequest));
const names = deriveNames(exampleSettings, exampleRequest.name);

describe('Application', () => {
  it('lives in the ArgoCD namespace under the derived name', () => {
    expect(application.metadata).toMatchObject({
      name: 'payments-api',
      namespace: 'argocd',
    });
  });

  it('belongs to the service AppProject', () => {
    expect(application.spec.project).toBe(project.metadata.name);
  });

  it('syncs manifests/ of main from the GitOps repository', () => {
    expect(application.spec.source).toEqual({
      repoURL:
        'https://gitlab.example.com/platform/gitops/payments-api-gitops.git',
      path: 'manifests',
      targetRevision: 'main',
    });
  });

  it('deploys to the service namespace on the configured cluster', () => {
    expect(application.spec.destination).toEqual({
      server: 'https://kubernetes.default.svc',
      namespace: 'payments-api',
    });
  });

  it('syncs automatically, pruning and self-healing', () => {
    expect(application.spec.syncPolicy.automated).toEqual({
      prune: true,
      selfHeal: true,
    });
  });

  it('neither creates the namespace itself nor applies client-side', () => {
    expect(application.spec.syncPolicy.syncOptions).toEqual([
      'CreateNamespace=false',
      'ServerSideApply=true',
    ]);
  });

  it('retries with a limit and backoff', () => {
    expect(application.spec.syncPolicy.retry).toEqual({
      limit: 5,
      backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
    });
  });
});

describe('AppProject', () => {
  it('lives in the ArgoCD namespace', () => {
    expect(project.metadata.namespace).toBe('argocd');
  });

  it('admits only the GitOps repository as a source', () => {
    expect(project.spec.sourceRepos).toEqual([names.gitopsRepoUrl]);
  });

  it('admits only the service namespace on the configured cluster', () => {
    expect(project.spec.destinations).toEqual([
      { server: exampleSettings.clusterServer, namespace: 'payments-api' },
    ]);
  });

  it('admits no cluster-scoped kind at all', () => {
    expect(project.spec.clusterResourceWhitelist).toEqual([]);
  });

  it('whitelists exactly the workload kinds, with their groups', () => {
    expect(project.spec.namespaceResourceWhitelist).toEqual([
      { group: 'apps', kind: 'Deployment' },
      { group: '', kind: 'Service' },
      { group: 'networking.k8s.io', kind: 'Ingress' },
      { group: '', kind: 'ConfigMap' },
      { group: 'external-secrets.io', kind: 'ExternalSecret' },
      { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' },
    ]);
  });

  it('does not report the guard rails as orphans', () => {
    expect(project.spec.orphanedResources.ignore).toEqual(
      GUARD_RAIL_KINDS.filter(k => k.namespaced).map(({ group, kind }) => ({
        group,
        kind,
      })),
    );
  });

  it('uses no glob patterns, so nothing else can match', () => {
    const patterns = [
      ...project.spec.sourceRepos,
      ...project.spec.destinations.flatMap(d => [d.server, d.namespace]),
      ...project.spec.namespaceResourceWhitelist.flatMap(k => [
        k.group,
        k.kind,
      ]),
    ];
    for (const pattern of patterns)
      expect(pattern).not.toMatch(GLOB_METACHARACTERS);
  });

  it("admits every object of the service's own GitOps repository", () => {
    const manifests = renderGitopsObjects(renderContext(exampleSettings, exampleRequest), {
      imageTag: exampleImageTag,
    }).filter(f => f.path.startsWith('manifests/'));
    expect(manifests.length).toBeGreaterThan(0);
    for (const { object } of manifests) {
      expect({
        kind: object.kind,
        admitted: admitsResource(project.spec, resourceOf(object)),
      }).toEqual({ kind: object.kind, admitted: true });
    }
  });

  it.each(APP_NAMESPACED_KINDS.map(k => [k.group, k.kind]))(
    'admits workload kind %p/%s from the application',
    (group, kind) => {
      expect(
        admitsResource(project.spec, {
          group,
          kind,
          namespaced: true,
          name: 'payments-api',
          server: exampleSettings.clusterServer,
        }),
      ).toBe(true);
    },
  );

  it.each(GUARD_RAIL_KINDS.map(k => [k.group, k.kind, k.namespaced]))(
    'refuses guard-rail kind %p/%s from the application (namespaced: %p)',
    (group, kind, namespaced) => {
      expect(
        admitsResource(project.spec, {
          group,
          kind,
          namespaced,
          // Its own namespace's name: the most plausible thing to try.
          name: 'payments-api',
          server: exampleSettings.clusterServer,
        }),
      ).toBe(false);
    },
  );

  it('refuses every object of the namespace bundle, were it put in the repository', () => {
    const bundle = renderNamespaceBundle(
      renderContext(exampleSettings, exampleRequest),
    );
    expect(new Set(bundle.map(o => o.kind))).toEqual(
      new Set(GUARD_RAIL_KINDS.map(k => k.kind)),
    );
    for (const object of bundle) {
      expect({
        kind: object.kind,
        admitted: admitsResource(project.spec, resourceOf(object)),
      }).toEqual({ kind: object.kind, admitted: false });
    }
  });

  it('would admit a guard rail if the whitelist were left empty (the evaluator can fail)', () => {
    const open = { ...project.spec, namespaceResourceWhitelist: [] };
    expect(
      admitsResource(open, {
        group: 'networking.k8s.io',
        kind: 'NetworkPolicy',
        namespaced: true,
        name: 'x',
        server: exampleSettings.clusterServer,
      }),
    ).toBe(true);
  });

  it('whitelists exactly the kinds the GitOps repository contains', () => {
    const kinds = renderGitopsObjects(renderContext(exampleSettings, exampleRequest), {
      imageTag: exampleImageTag,
    })
      .filter(f => f.path.startsWith('manifests/'))
      .map(f => f.object.kind);
    expect(new Set(APP_NAMESPACED_KINDS.map(k => k.kind))).toEqual(
      new Set(kinds),
    );
  });

  it.each([
    ['', 'Secret', true],
    ['', 'PersistentVolumeClaim', true],
    ['batch', 'Job', true],
    ['', 'Namespace', false],
    ['rbac.authorization.k8s.io', 'ClusterRoleBinding', false],
    ['rbac.authorization.k8s.io', 'ClusterRole', false],
    ['apiextensions.k8s.io', 'CustomResourceDefinition', false],
    ['admissionregistration.k8s.io', 'ValidatingWebhookConfiguration', false],
  ])('refuses %s/%s (namespaced: %p)', (group, kind, namespaced) => {
    expect(
      admitsResource(project.spec, {
        group,
        kind,
        namespaced,
        name: 'x',
        server: exampleSettings.clusterServer,
      }),
    ).toBe(false);
  });

  it.each(['kube-system', 'argocd', 'payments-api-2', 'default'])(
    'refuses to create or adopt Namespace %p',
    other => {
      expect(
        admitsResource(project.spec, {
          group: '',
          kind: 'Namespace',
          namespaced: false,
          name: other,
          server: exampleSettings.clusterServer,
        }),
      ).toBe(false);
    },
  );

  describe('never admits anything but its own repository and namespace', () => {
    const otherName = (own: string) =>
      fc
        .oneof(validName, dnsLabel)
        .filter(n => n !== own && n !== `${own}-gitops`);

    it('admits its own repository and destination', () => {
      fc.assert(
        fc.property(settingsAndRequest, ({ settings, request }) => {
          const spec = renderAppProject(renderContext(settings, request)).spec;
          const own = deriveNames(settings, request.name);
          expect(admitsSource(spec, own.gitopsRepoUrl)).toBe(true);
          expect(
            admitsDestination(spec, {
              server: settings.clusterServer,
              namespace: own.namespace,
            }),
          ).toBe(true);
        }),
        { numRuns: 200 },
      );
    });

    it('refuses the repositories of other services and near misses', () => {
      fc.assert(
        fc.property(
          settingsAndRequest.chain(x =>
            fc.tuple(fc.constant(x), otherName(x.request.name)),
          ),
          ([{ settings, request }, other]) => {
            const spec = renderAppProject(renderContext(settings, request)).spec;
            const own = deriveNames(settings, request.name);
            const host = `https://${settings.gitlabHost}`;
            const candidates = [
              `${host}/${settings.gitopsGroup}/${other}-gitops.git`,
              `${host}/${settings.gitopsGroup}/${other}.git`,
              `${host}/${settings.appGroup}/${request.name}.git`,
              `${host}/${other}/${request.name}-gitops.git`,
              `https://${other}.example.org/${settings.gitopsGroup}/${request.name}-gitops.git`,
              `${own.gitopsRepoUrl.slice(0, -4)}-x.git`,
              `${own.gitopsRepoUrl.slice(0, -4)}/sub.git`,
              `${host}/${settings.gitopsGroup}/${request.name}-gitop.git`,
            ];
            for (const url of candidates) {
              expect({ url, admitted: admitsSource(spec, url) }).toEqual({
                url,
                admitted: false,
              });
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it('refuses other namespaces and other clusters', () => {
      fc.assert(
        fc.property(
          settingsAndRequest.chain(x =>
            fc.tuple(fc.constant(x), otherName(x.request.name)),
          ),
          ([{ settings, request }, other]) => {
            const spec = renderAppProject(renderContext(settings, request)).spec;
            for (const destination of [
              { server: settings.clusterServer, namespace: other },
              {
                server: settings.clusterServer,
                namespace: `${request.name}-x`,
              },
              {
                server: settings.clusterServer,
                namespace: settings.argocdNamespace,
              },
              { server: settings.clusterServer, namespace: 'kube-system' },
              {
                server: `https://${other}.example.org`,
                namespace: request.name,
              },
            ]) {
              expect({
                destination,
                admitted: admitsDestination(spec, destination),
              }).toEqual({
                destination,
                admitted: false,
              });
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});

describe('ArgoCD project model (test helper)', () => {
  // If the model admitted too little, the properties above would prove
  // nothing; these show it admits what ArgoCD would.
  it.each([
    ['*', 'https://gitlab.example.com/any/repo.git', true],
    [
      'https://gitlab.example.com/g/*',
      'https://gitlab.example.com/g/repo.git',
      true,
    ],
    [
      'https://gitlab.example.com/g/*',
      'https://gitlab.example.com/g/sub/repo.git',
      false,
    ],
    [
      'https://gitlab.example.com/g/**',
      'https://gitlab.example.com/g/sub/repo.git',
      true,
    ],
    [
      'https://gitlab.example.com/g/repo.git',
      'https://GITLAB.example.com/g/repo',
      true,
    ],
    [
      'https://gitlab.example.com/g/repo',
      'https://gitlab.example.com/g/repo2',
      false,
    ],
  ])('source pattern %p admits %p: %p', (pattern, url, expected) => {
    expect(admitsSource({ sourceRepos: [pattern] }, url)).toBe(expected);
  });

  it('lets a deny pattern override an allow', () => {
    const spec = { sourceRepos: ['*', '!https://gitlab.example.com/secret/*'] };
    expect(admitsSource(spec, 'https://gitlab.example.com/public/a.git')).toBe(
      true,
    );
    expect(admitsSource(spec, 'https://gitlab.example.com/secret/a.git')).toBe(
      false,
    );
  });

  it.each([
    [
      { server: '*', namespace: '*' },
      { server: 'https://x', namespace: 'y' },
      true,
    ],
    [
      { server: 'https://x', namespace: 'team-*' },
      { server: 'https://x', namespace: 'team-a' },
      true,
    ],
    [
      { server: 'https://x', namespace: 'team-*' },
      { server: 'https://x', namespace: 'other' },
      false,
    ],
    [
      { server: 'https://x', namespace: 'a' },
      { server: 'https://z', namespace: 'a' },
      false,
    ],
  ])('destination %p admits %p: %p', (item, destination, expected) => {
    expect(admitsDestination({ destinations: [item] }, destination)).toBe(
      expected,
    );
  });

  it('admits any namespaced kind when the whitelist is empty', () => {
    expect(
      admitsResource(
        {},
        { group: '', kind: 'Secret', namespaced: true, name: 'x', server: 's' },
      ),
    ).toBe(true);
  });

  it('admits no cluster-scoped kind when the cluster whitelist is empty', () => {
    expect(
      admitsResource(
        {},
        {
          group: '',
          kind: 'Namespace',
          namespaced: false,
          name: 'x',
          server: 's',
        },
      ),
    ).toBe(false);
  });

  it.each([
    ['a*', 'abc', true],
    ['a?c', 'abc', true],
    ['a[bc]d', 'acd', true],
    ['{x,y}z', 'yz', true],
    ['a.c', 'abc', false],
  ])('glob %p matches %p: %p', (glob, text, expected) => {
    expect(globToRegExp(glob).test(text)).toBe(expected);
  });
});
