import { renderContext } from './context';
import {
  exampleImageTag,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import { selectorMatches } from '../__testUtils__/networkPolicyEvaluator';
import { APP_METRICS, renderGrafanaDashboard } from './dashboard';
import { renderGitopsObjects } from './gitops';
import {
  CONTAINER_LIMITS,
  IRSA_ROLE_ANNOTATION,
  QUOTA_PODS,
  renderDashboardConfigMap,
  renderDeployment,
  renderExternalSecret,
  renderIngress,
  renderLimitRange,
  renderNamespace,
  renderResourceQuota,
  renderRole,
  renderRoleBinding,
  renderSecretStore,
  renderSecretsServiceAccount,
  renderService,
  renderServiceAccount,
  renderServiceMonitor,
} from './kubernetes';
import { REPLICAS_MAX } from './input';
import {
  DESCRIPTION_ANNOTATION,
  OWNER_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
} from './labels';

const settings = exampleSettings;
const request = exampleRequest;
const opts = { imageTag: exampleImageTag };

describe('Namespace', () => {
  const ns = renderNamespace(renderContext(settings, request));

  it('is named after the service and has no namespace itself', () => {
    expect(ns.metadata.name).toBe('payments-api');
    expect(ns.metadata).not.toHaveProperty('namespace');
  });

  it.each([
    ['idp-role', 'app'],
    ['app.kubernetes.io/name', 'payments-api'],
    ['app.kubernetes.io/managed-by', 'golden-path-idp'],
    ['idp-owner', 'team-payments'],
    ['pod-security.kubernetes.io/enforce', 'restricted'],
  ])('has label %s = %p', (key, value) => {
    expect(ns.metadata.labels[key]).toBe(value);
  });

  it('keeps owner and description verbatim in annotations', () => {
    const nasty = {
      owner: 'group:default/*&!"#\n',
      description: 'a: b\n# c\n\u2028"d"',
    };
    const annotations = renderNamespace(renderContext(settings, { ...request, ...nasty }))
      .metadata.annotations;
    expect(annotations[OWNER_ANNOTATION]).toBe(nasty.owner);
    expect(annotations[DESCRIPTION_ANNOTATION]).toBe(nasty.description);
  });
});

describe('Deployment', () => {
  const deployment = renderDeployment(renderContext(settings, request), opts);
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;

  it('runs the requested number of replicas', () => {
    expect(
      renderDeployment(renderContext(settings, { ...request, replicas: 5 }), opts).spec
        .replicas,
    ).toBe(5);
  });

  it('defaults to 2 replicas', () => {
    const { replicas: _omitted, ...withoutReplicas } = request;
    expect(
      renderDeployment(renderContext(settings, withoutReplicas), opts).spec.replicas,
    ).toBe(2);
  });

  it('runs the ECR image with the given tag', () => {
    expect(container.image).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:0.1.0',
    );
  });

  it('selects its own pods', () => {
    expect(
      selectorMatches(
        deployment.spec.selector,
        deployment.spec.template.metadata.labels,
      ),
    ).toBe(true);
  });

  it.each(['readinessProbe', 'livenessProbe'] as const)(
    '%s checks /health on the app port',
    probe => {
      expect(container[probe].httpGet).toEqual({ path: '/health', port: 3000 });
    },
  );

  it('exposes the app port as "http"', () => {
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 3000, protocol: 'TCP' },
    ]);
  });

  it('tells the app which port to listen on', () => {
    expect(container.env).toContainEqual({ name: 'PORT', value: '3000' });
  });

  it('sets resource requests and limits', () => {
    expect(Object.keys(container.resources.requests).sort()).toEqual([
      'cpu',
      'memory',
    ]);
    expect(Object.keys(container.resources.limits).sort()).toEqual([
      'cpu',
      'memory',
    ]);
  });

  it.each([
    ['pod', pod.securityContext],
    ['container', container.securityContext],
  ])(
    '%s runs as a non-root user with the RuntimeDefault seccomp profile',
    (_level, ctx) => {
      expect(ctx.runAsNonRoot).toBe(true);
      expect(ctx.runAsUser).toBeGreaterThan(0);
      expect(ctx.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    },
  );

  it('locks the container down', () => {
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('mounts a writable emptyDir at /tmp', () => {
    expect(container.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
  });

  it('runs as the app ServiceAccount without a mounted token', () => {
    expect(pod.serviceAccountName).toBe(
      renderServiceAccount(renderContext(settings, request)).metadata.name,
    );
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('reads its environment from the Secret the ExternalSecret creates', () => {
    const externalSecret = renderExternalSecret(renderContext(settings, request));
    expect(container.envFrom).toEqual([
      { secretRef: { name: externalSecret.spec.target.name } },
    ]);
  });
});

describe('ExternalSecret', () => {
  const es = renderExternalSecret(renderContext(settings, request));

  it("reads all keys of idp/<name>/app through the service's own SecretStore", () => {
    expect(es.spec).toMatchObject({
      secretStoreRef: { kind: 'SecretStore', name: 'payments-api' },
      target: { name: 'payments-api-env' },
      dataFrom: [{ extract: { key: 'idp/payments-api/app' } }],
    });
  });

  it('reads under the configured prefix', () => {
    const other = renderExternalSecret(
      renderContext(
        { ...settings, secrets: { provider: 'aws', prefix: 'platform/idp' } },
        request,
      ),
    );
    expect(other.spec.dataFrom).toEqual([
      { extract: { key: 'platform/idp/payments-api/app' } },
    ]);
  });

  it('refreshes periodically', () => {
    expect(es.spec.refreshInterval).toBe('1h');
  });
});

describe('SecretStore and its ServiceAccount', () => {
  const vaultSettings = {
    ...settings,
    secrets: {
      provider: 'vault' as const,
      prefix: 'idp',
      vault: {
        server: 'https://vault.example.com',
        kvMount: 'kv',
        authMount: 'kubernetes-prod',
      },
    },
  };

  it('authenticates to Secrets Manager as the secrets ServiceAccount (aws)', () => {
    const store = renderSecretStore(renderContext(settings, request));
    expect(store).toMatchObject({
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'payments-api', namespace: 'payments-api' },
      spec: {
        provider: {
          aws: {
            service: 'SecretsManager',
            region: 'eu-west-1',
            auth: { jwt: { serviceAccountRef: { name: 'payments-api-secrets' } } },
          },
        },
      },
    });
  });

  it('gives the secrets ServiceAccount the secrets role through IRSA (aws)', () => {
    const account = renderSecretsServiceAccount(renderContext(settings, request));
    expect(account.metadata.name).toBe('payments-api-secrets');
    expect(account.metadata.annotations[IRSA_ROLE_ANNOTATION]).toBe(
      'arn:aws:iam::123456789012:role/idp-payments-api-secrets',
    );
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it("uses Vault's KV v2 and the service's Kubernetes auth role (vault)", () => {
    const store = renderSecretStore(renderContext(vaultSettings, request));
    expect(store.spec.provider).toEqual({
      vault: {
        server: 'https://vault.example.com',
        path: 'kv',
        version: 'v2',
        auth: {
          kubernetes: {
            mountPath: 'kubernetes-prod',
            role: 'idp-payments-api',
            serviceAccountRef: { name: 'payments-api-secrets' },
          },
        },
      },
    });
    const account = renderSecretsServiceAccount(
      renderContext(vaultSettings, request),
    );
    expect(account.metadata.annotations).not.toHaveProperty(
      IRSA_ROLE_ANNOTATION,
    );
  });

  it('is not the ServiceAccount the pods run as', () => {
    const deployment = renderDeployment(renderContext(settings, request), opts);
    expect(deployment.spec.template.spec.serviceAccountName).not.toBe(
      renderSecretsServiceAccount(renderContext(settings, request)).metadata
        .name,
    );
  });
});

describe('ResourceQuota and LimitRange', () => {
  const quota = renderResourceQuota(renderContext(settings, request));
  const limits = renderLimitRange(renderContext(settings, request));
  const cpu = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
  const mem = (q: string) => Number(q.replace(/(Mi|Gi)$/, '')) * (q.endsWith('Gi') ? 1024 : 1);

  it('allows no LoadBalancer or NodePort Service and no volumes', () => {
    expect(quota.spec.hard).toMatchObject({
      'services.loadbalancers': '0',
      'services.nodeports': '0',
      persistentvolumeclaims: '0',
    });
  });

  it('fits the largest Deployment the form allows, during a rolling update', () => {
    const deployment = renderDeployment(
      renderContext(settings, { ...request, replicas: REPLICAS_MAX }),
      opts,
    );
    const { resources } = deployment.spec.template.spec.containers[0];
    const pods =
      deployment.spec.replicas + deployment.spec.strategy.rollingUpdate.maxSurge;
    const hard = quota.spec.hard as Record<string, string>;
    expect(pods).toBeLessThanOrEqual(Number(hard.pods));
    expect(pods * cpu(resources.limits.cpu)).toBeLessThanOrEqual(cpu(hard['limits.cpu']));
    expect(pods * mem(resources.limits.memory)).toBeLessThanOrEqual(mem(hard['limits.memory']));
    expect(pods * cpu(resources.requests.cpu)).toBeLessThanOrEqual(cpu(hard['requests.cpu']));
    expect(pods * mem(resources.requests.memory)).toBeLessThanOrEqual(mem(hard['requests.memory']));
  });

  it('fits QUOTA_PODS containers of the largest size the LimitRange allows', () => {
    const hard = quota.spec.hard as Record<string, string>;
    expect(cpu(hard['limits.cpu'])).toBe(QUOTA_PODS * cpu(CONTAINER_LIMITS.max.cpu));
    expect(mem(hard['limits.memory'])).toBe(QUOTA_PODS * mem(CONTAINER_LIMITS.max.memory));
  });

  it('refuses a runtime whose container would exceed the LimitRange', () => {
    expect(() =>
      renderDeployment(
        renderContext(settings, {
          ...request,
          runtime: { resources: { limits: { cpu: '2', memory: '256Mi' } } },
        }),
        opts,
      ),
    ).toThrow(/exceed what an app namespace allows per container/);
  });

  it("admits the app's own container", () => {
    const { resources } = renderDeployment(renderContext(settings, request), opts)
      .spec.template.spec.containers[0];
    const [item] = limits.spec.limits;
    expect(item.type).toBe('Container');
    expect(cpu(resources.limits.cpu)).toBeLessThanOrEqual(cpu(item.max.cpu));
    expect(mem(resources.limits.memory)).toBeLessThanOrEqual(mem(item.max.memory));
  });
});

describe('Service and Ingress', () => {
  const service = renderService(renderContext(settings, request));
  const ingress = renderIngress(renderContext(settings, request));
  const deployment = renderDeployment(renderContext(settings, request), opts);

  it('exposes port 80 as ClusterIP to the container port named http', () => {
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
    ]);
  });

  it('selects the Deployment pods', () => {
    expect(
      selectorMatches(
        { matchLabels: service.spec.selector },
        deployment.spec.template.metadata.labels,
      ),
    ).toBe(true);
  });

  it.each([
    ['alb.ingress.kubernetes.io/scheme', 'internet-facing'],
    ['alb.ingress.kubernetes.io/target-type', 'ip'],
    ['alb.ingress.kubernetes.io/group.name', 'idp-shared'],
    ['alb.ingress.kubernetes.io/certificate-arn', settings.certificateArn],
    ['alb.ingress.kubernetes.io/ssl-redirect', '443'],
    ['alb.ingress.kubernetes.io/healthcheck-path', '/health'],
  ])('annotates the Ingress with %s = %p', (key, value) => {
    expect(
      ingress.metadata.annotations[
        key as keyof typeof ingress.metadata.annotations
      ],
    ).toBe(value);
  });

  it('listens on HTTP 80 and HTTPS 443', () => {
    expect(
      JSON.parse(
        ingress.metadata.annotations['alb.ingress.kubernetes.io/listen-ports'],
      ),
    ).toEqual([{ HTTP: 80 }, { HTTPS: 443 }]);
  });

  it('serves <name>.<baseDomain> over TLS on the alb class', () => {
    expect(ingress.spec.ingressClassName).toBe('alb');
    expect(ingress.spec.rules[0].host).toBe('payments-api.apps.example.com');
    expect(ingress.spec.tls).toEqual([
      { hosts: ['payments-api.apps.example.com'] },
    ]);
  });

  it('routes to the Service by port name', () => {
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({
      name: service.metadata.name,
      port: { name: 'http' },
    });
  });
});

describe('RBAC', () => {
  const role = renderRole(renderContext(settings, request));
  const binding = renderRoleBinding(renderContext(settings, request));
  const account = renderServiceAccount(renderContext(settings, request));

  it('does not mount the ServiceAccount token by default', () => {
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it('only reads', () => {
    const verbs = role.rules.flatMap(r => r.verbs);
    expect(new Set(verbs)).toEqual(new Set(['get', 'list', 'watch']));
  });

  it('never touches secrets and never uses wildcards', () => {
    const resources = role.rules.flatMap(r => r.resources);
    expect(resources).not.toContain('secrets');
    expect([...resources, ...role.rules.flatMap(r => r.verbs)]).not.toContain(
      '*',
    );
    expect(new Set(resources)).toEqual(
      new Set(['configmaps', 'pods', 'services', 'endpoints']),
    );
  });

  it('binds the Role to the app ServiceAccount only', () => {
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    expect(binding.subjects).toEqual([
      {
        kind: 'ServiceAccount',
        name: account.metadata.name,
        namespace: 'payments-api',
      },
    ]);
  });
});

describe('observability', () => {
  const monitor = renderServiceMonitor(renderContext(settings, request));
  const service = renderService(renderContext(settings, request));
  const configMap = renderDashboardConfigMap(renderContext(settings, request));
  const dashboard = renderGrafanaDashboard('payments-api');
  const queries = dashboard.panels.flatMap(p => p.targets.map(t => t.expr));

  it('scrapes /metrics every 30s on the Service port named http', () => {
    expect(monitor.spec.endpoints).toEqual([
      { port: 'http', path: '/metrics', interval: '30s', scheme: 'http' },
    ]);
    expect(service.spec.ports.map(p => p.name)).toContain('http');
  });

  it('selects the Service in its namespace', () => {
    expect(
      selectorMatches(monitor.spec.selector, service.metadata.labels),
    ).toBe(true);
    expect(monitor.spec.namespaceSelector).toEqual({
      matchNames: ['payments-api'],
    });
  });

  it('labels the dashboard ConfigMap for the Grafana sidecar', () => {
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
  });

  it('stores the dashboard as JSON', () => {
    expect(JSON.parse(configMap.data['payments-api.json'])).toEqual(dashboard);
  });

  it('shows request rate, error rate and latency', () => {
    expect(dashboard.panels.map(p => p.title)).toEqual([
      'Request rate',
      'Error rate',
      'Request duration',
    ]);
  });

  it.each([
    ['request rate', `rate(${APP_METRICS.requestsTotal}{`],
    ['5xx errors', `${APP_METRICS.statusLabel}=~"5.."`],
    [
      'p50',
      `histogram_quantile(0.5, sum by (le) (rate(${APP_METRICS.durationBucket}{`,
    ],
    [
      'p95',
      `histogram_quantile(0.95, sum by (le) (rate(${APP_METRICS.durationBucket}{`,
    ],
    [
      'p99',
      `histogram_quantile(0.99, sum by (le) (rate(${APP_METRICS.durationBucket}{`,
    ],
  ])('queries %s', (_what, fragment) => {
    expect(queries.some(q => q.includes(fragment))).toBe(true);
  });

  it('keeps the metric names the generated Express app exports', () => {
    expect(APP_METRICS.requestsTotal).toBe('http_requests_total');
    expect(APP_METRICS.durationBucket).toBe(
      'http_request_duration_seconds_bucket',
    );
  });

  it('only queries this service', () => {
    for (const query of queries) {
      expect(query).toContain(
        'namespace="payments-api", service="payments-api"',
      );
    }
  });
});

describe('sync waves and labels', () => {
  const files = renderGitopsObjects(renderContext(settings, request), opts).filter(f =>
    f.path.startsWith('manifests/'),
  );
  const wave = (kind: string) =>
    Number(
      files.find(f => f.object.kind === kind)!.object.metadata.annotations![
        SYNC_WAVE_ANNOTATION
      ],
    );

  it('puts a string sync wave on every manifest', () => {
    for (const { object } of files) {
      expect(typeof object.metadata.annotations?.[SYNC_WAVE_ANNOTATION]).toBe(
        'string',
      );
    }
  });

  it.each([
    ['ExternalSecret', 'Deployment'],
    ['ExternalSecret', 'Service'],
    ['ExternalSecret', 'Ingress'],
    ['Deployment', 'ServiceMonitor'],
    ['Ingress', 'ConfigMap'],
  ])('syncs %s before %s', (before, after) => {
    expect(wave(before)).toBeLessThan(wave(after));
  });

  it.each([
    'app.kubernetes.io/name',
    'app.kubernetes.io/managed-by',
    'backstage.io/kubernetes-id',
    'idp-owner',
  ])('labels every manifest with %s', key => {
    const values = files.map(f => f.object.metadata.labels?.[key]);
    expect(values.every(v => v !== undefined)).toBe(true);
    expect(new Set(values).size).toBe(1);
  });

  it('keeps every object in the app namespace', () => {
    for (const { object } of files) {
      expect(object.metadata.namespace).toBe('payments-api');
    }
  });
});
