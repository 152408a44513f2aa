import { InputError } from '@backstage/errors';
import { PlatformDatabaseSettings } from '@internal/plugin-golden-path-node';
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { KubernetesObject, RenderContext } from './context';
import { selectorLabels, syncWave } from './labels';
import { NetworkPolicy } from './networkPolicies';
import { secretStoreKey, secretStoreName } from './secrets';
import { PlatformSettings } from './types';

/*
 * A service's PostgreSQL database, when the form asks for one: the names of
 * its role and database, where its password is kept, and the objects that
 * deliver DATABASE_URL to its pods. Pure, like the rest of render/.
 *
 * Names: `<namePrefix><name with "-" as "_">` for both the role and the
 * database (PostgreSQL keeps them apart). Service names are a-z, 0-9 and
 * single "-", so the mapping is one-to-one: `a-b` becomes `a_b`, and no
 * service can be called `a_b`. Unquoted-safe, at most 23 + 40 = 63 bytes.
 */

/** Where the CA certificate is mounted in the app container. */
export const DATABASE_CA_MOUNT_PATH = '/etc/golden-path/database';
/** File name of the CA certificate in that folder (and key in its ConfigMap). */
export const DATABASE_CA_FILE = 'ca.crt';
/** The item of the service's secret folder that holds the password. */
export const DATABASE_SECRET_ITEM = 'database';

/** What Create makes for a service's database; in the plan, never a password. */
export interface DatabasePlan {
  /** Login role, owner of the database. */
  role: string;
  /** Database name. */
  name: string;
  host: string;
  port: number;
  sslMode: PlatformDatabaseSettings['sslMode'];
  /** `<prefix>/<service>/database` in the secret store. */
  secretPath: string;
  /** Which store holds it. */
  secretStore: PlatformSettings['secrets']['provider'];
  /** DATABASE_URL with the password left out, for people. */
  displayUrl: string;
}

/** The platform's database settings, or InputError saying there are none. */
export function requireDatabaseSettings(
  settings: PlatformSettings,
): PlatformDatabaseSettings {
  if (!settings.database) {
    throw new InputError(
      'database: the platform has no database server configured (goldenPath.database); ask the platform team, or create the service without a database',
    );
  }
  return settings.database;
}

/** Name of the service's role and of its database. */
export function databaseIdentifier(
  settings: PlatformDatabaseSettings,
  name: string,
): string {
  return `${settings.namePrefix}${name.replace(/-/g, '_')}`;
}

/** The Secret (and ExternalSecret) that holds DATABASE_URL. */
export function databaseSecretName(name: string): string {
  return `${name}-database`;
}

/** The ConfigMap with the CA certificate the server's certificate is checked against. */
export function databaseCaConfigMapName(name: string): string {
  return `${name}-database-ca`;
}

/** Name of the egress NetworkPolicy to the database (21 characters after the name, like the longest other). */
export function databaseNetworkPolicyName(name: string): string {
  return `${name}-allow-database-egress`;
}

/**
 * DATABASE_URL with `password` in place of the password: TLS required and
 * the server certificate verified (`sslmode`), and the CA file named when
 * the platform gives one (`sslrootcert`; libpq and node-postgres both read
 * it). Role, database and password need no escaping: identifiers are
 * `[a-z0-9_]` and passwords are generated from `[A-Za-z0-9]`.
 */
export function databaseUrl(
  settings: PlatformDatabaseSettings,
  identifier: string,
  password: string,
): string {
  const params = new URLSearchParams({ sslmode: settings.sslMode });
  if (settings.caCertificate) {
    params.set('sslrootcert', `${DATABASE_CA_MOUNT_PATH}/${DATABASE_CA_FILE}`);
  }
  // URLSearchParams would escape the "/" of the path: keep it readable.
  const query = [...params].map(([k, v]) => `${k}=${v}`).join('&');
  return `postgresql://${identifier}:${password}@${settings.host}:${settings.port}/${identifier}?${query}`;
}

/** The plan's database section, or undefined when the request asks for none. */
export function planDatabase(ctx: RenderContext): DatabasePlan | undefined {
  if (!ctx.request.database) return undefined;
  const db = requireDatabaseSettings(ctx.settings);
  const identifier = databaseIdentifier(db, ctx.request.name);
  return {
    role: identifier,
    name: identifier,
    host: db.host,
    port: db.port,
    sslMode: db.sslMode,
    secretPath: secretStoreKey(ctx.settings, ctx.request.name, DATABASE_SECRET_ITEM),
    secretStore: ctx.settings.secrets.provider,
    displayUrl: databaseUrl(db, identifier, '<password>'),
  };
}

/**
 * The ExternalSecret that writes Secret `<name>-database` with one key,
 * DATABASE_URL, built by ESO's template from the password in the service's
 * own folder, read through the service's own SecretStore.
 */
export function renderDatabaseExternalSecret(ctx: RenderContext) {
  const plan = planDatabase(ctx)!;
  const db = requireDatabaseSettings(ctx.settings);
  const { names, labels } = ctx;
  const name = databaseSecretName(names.namespace);
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: {
      name,
      namespace: names.namespace,
      labels,
      annotations: syncWave('secrets'),
    },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: secretStoreName(names.namespace) },
      target: {
        name,
        creationPolicy: 'Owner',
        template: {
          engineVersion: 'v2',
          data: { DATABASE_URL: databaseUrl(db, plan.role, '{{ .password }}') },
        },
      },
      data: [
        {
          secretKey: 'password',
          remoteRef: { key: plan.secretPath, property: 'password' },
        },
      ],
    },
  };
}

/** The CA certificate as a ConfigMap (public data), when the platform gives one. */
export function renderDatabaseCaConfigMap(ctx: RenderContext) {
  const db = requireDatabaseSettings(ctx.settings);
  if (!db.caCertificate) return undefined;
  const { names, labels } = ctx;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: databaseCaConfigMapName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations: syncWave('secrets'),
    },
    data: { [DATABASE_CA_FILE]: db.caCertificate },
  } satisfies V1ConfigMap;
}

/** The GitOps files of the database (none without one), as `manifests/<file>` names them. */
export function renderDatabaseManifests(
  ctx: RenderContext,
): Array<{ file: string; object: KubernetesObject }> {
  if (!ctx.request.database) return [];
  const ca = renderDatabaseCaConfigMap(ctx);
  return [
    { file: 'externalsecret-database.yaml', object: renderDatabaseExternalSecret(ctx) },
    ...(ca ? [{ file: 'configmap-database-ca.yaml', object: ca }] : []),
  ];
}

/**
 * The Deployment, reading DATABASE_URL from Secret `<name>-database` (not
 * optional: a pod that needs a database waits for it rather than starting
 * without one) and, with a platform CA, mounting it read-only where
 * DATABASE_URL's `sslrootcert` points. Unchanged without a database.
 */
export function withDatabase<T extends V1Deployment>(
  ctx: RenderContext,
  deployment: T,
): T {
  if (!ctx.request.database) return deployment;
  const ca = renderDatabaseCaConfigMap(ctx);
  const { names } = ctx;
  const spec = deployment.spec!.template.spec!;
  const volumeName = 'database-ca';
  return {
    ...deployment,
    spec: {
      ...deployment.spec!,
      template: {
        ...deployment.spec!.template,
        spec: {
          ...spec,
          containers: spec.containers.map((container, i) =>
            i !== 0
              ? container
              : {
                  ...container,
                  envFrom: [
                    ...(container.envFrom ?? []),
                    { secretRef: { name: databaseSecretName(names.namespace) } },
                  ],
                  ...(ca
                    ? {
                        volumeMounts: [
                          ...(container.volumeMounts ?? []),
                          { name: volumeName, mountPath: DATABASE_CA_MOUNT_PATH, readOnly: true },
                        ],
                      }
                    : {}),
                },
          ),
          ...(ca
            ? {
                volumes: [
                  ...(spec.volumes ?? []),
                  { name: volumeName, configMap: { name: databaseCaConfigMapName(names.namespace) } },
                ],
              }
            : {}),
        },
      },
    },
  };
}

/**
 * Egress from the app pods to the database port: to `networkCidrs` (the
 * database subnets), else to the host when it is an IPv4 address, else to
 * any address on that port only (local use; the config validator requires
 * networkCidrs in production). Applied with the namespace's other guard
 * rails, by the platform.
 */
export function renderDatabaseNetworkPolicies(ctx: RenderContext): NetworkPolicy[] {
  if (!ctx.request.database) return [];
  const db = requireDatabaseSettings(ctx.settings);
  const { names, labels, request } = ctx;
  const cidrs =
    db.networkCidrs ??
    (/^\d{1,3}(\.\d{1,3}){3}$/.test(db.host) ? [`${db.host}/32`] : ['0.0.0.0/0']);
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: databaseNetworkPolicyName(request.name),
        namespace: names.namespace,
        labels,
        annotations: syncWave('access'),
      },
      spec: {
        podSelector: { matchLabels: selectorLabels(request.name) },
        policyTypes: ['Egress'],
        egress: [
          {
            to: cidrs.map(cidr => ({ ipBlock: { cidr } })),
            ports: [{ protocol: 'TCP', port: db.port }],
          },
        ],
      },
    },
  ];
}
