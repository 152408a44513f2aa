import { RenderContext } from './context';
import { selectorLabels, syncWave } from './labels';
import { PlatformSettings } from './types';

// Own types rather than @kubernetes/client-node's: those rename `from` to
// `_from`, so they do not describe the wire format. The testing evaluator
// reads these same types.

/** A label selector (`matchLabels` and `matchExpressions` are ANDed). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

/** A NetworkPolicy peer; selectors in one peer are ANDed. */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** A NetworkPolicy port; protocol defaults to TCP, no port means all ports. */
export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

/** `spec` of a networking.k8s.io/v1 NetworkPolicy. */
export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
}

/** A networking.k8s.io/v1 NetworkPolicy. */
export type NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: NetworkPolicySpec;
};

/**
 * Suffixes of the NetworkPolicy names (`<name>-<suffix>`), in render order.
 * The longest, `allow-from-monitoring`, is what bounds the service name to
 * 40 characters (see name.ts).
 */
export const NETWORK_POLICY_SUFFIXES = [
  'default-deny',
  'allow-from-alb',
  'allow-dns-egress',
  'allow-https-egress',
  'allow-from-monitoring',
] as const;

/** One of {@link NETWORK_POLICY_SUFFIXES}. */
export type NetworkPolicySuffix = (typeof NETWORK_POLICY_SUFFIXES)[number];

/** Label every namespace carries (set by the API server, cannot be forged). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Namespace and pod label of the cluster DNS (CoreDNS keeps the kube-dns label). */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_POD_LABELS: Readonly<Record<string, string>> = {
  'k8s-app': 'kube-dns',
};
/** Everything on the IPv4 internet... */
export const ANY_IPV4 = '0.0.0.0/0';
/**
 * ...except link-local, which holds the EC2 instance metadata service
 * (169.254.169.254): its node credentials must not be reachable from pods.
 */
export const LINK_LOCAL_IPV4 = '169.254.0.0/16';
/** The private ranges of RFC 1918: other pods, nodes, databases, the VPC. */
export const RFC1918_IPV4: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

/**
 * What HTTPS egress to "the internet" never reaches: RFC 1918,
 * link-local, and the VPC (which may use other ranges, e.g. 100.64/10).
 * Inside the cluster's own network a service talks through Services the
 * platform opens on purpose, never "anything on 443".
 */
export function httpsEgressExceptions(settings: PlatformSettings): string[] {
  const except = [...RFC1918_IPV4, LINK_LOCAL_IPV4];
  if (settings.vpcCidr && !except.includes(settings.vpcCidr)) {
    except.push(settings.vpcCidr);
  }
  return except;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6_CIDR = /^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\/(\d{1,3})$/i;

/** True for an IPv4 or IPv6 CIDR such as `10.0.0.0/16`. */
export function isCidr(text: string): boolean {
  const v4 = IPV4_CIDR.exec(text);
  if (v4) {
    return (
      v4.slice(1, 5).every(octet => Number(octet) <= 255) && Number(v4[5]) <= 32
    );
  }
  const v6 = IPV6_CIDR.exec(text);
  return (
    v6 !== null && Number(v6[2]) <= 128 && text.split('::').length - 1 <= 1
  );
}

/** Throws unless every entry of `cidrs` is an IPv4 or IPv6 CIDR. */
function checkCidrs(key: string, cidrs: string[]): string[] {
  const bad = cidrs.filter(cidr => !isCidr(cidr));
  if (bad.length > 0) {
    throw new Error(`${key} has invalid CIDRs: ${bad.join(', ')}`);
  }
  return [...cidrs];
}

/**
 * The load balancer's source CIDRs, checked. An empty list must never reach
 * the policy: a rule with an empty `from` admits every source; nor may a
 * /0, which admits every pod of the cluster (with the AWS VPC CNI every pod
 * has a VPC address).
 */
function loadBalancerCidrs(settings: PlatformSettings): string[] {
  const key = 'goldenPath.ingress.loadBalancerSourceCidrs';
  const cidrs = settings.loadBalancerSourceCidrs ?? [];
  if (cidrs.length === 0) {
    throw new Error(
      `${key} is empty; it must list the subnets the ALB sends traffic from`,
    );
  }
  const open = cidrs.filter(cidr => /\/0$/.test(cidr));
  if (open.length > 0) {
    throw new Error(
      `${key} contains ${open.join(', ')}, which admits every address; list the ALB's subnets`,
    );
  }
  return checkCidrs(key, cidrs);
}

/**
 * The app namespace's NetworkPolicies. Together they allow exactly:
 *
 * - ingress to the app pods on the app port, TCP, from the load balancer's
 *   subnets (never the whole VPC: every pod has a VPC address) and from any
 *   pod in the monitoring namespace (metrics are served on the app port);
 * - egress from the app pods to the cluster DNS (UDP and TCP 53);
 * - egress from the app pods to TCP 443 on the public IPv4 internet: not
 *   RFC 1918, not link-local, not the VPC ({@link httpsEgressExceptions}),
 *   plus the CIDRs of `goldenPath.network.egressAllowedCidrs`;
 *
 * and deny everything else to and from every pod in the namespace.
 */
export function renderNetworkPolicies(
  ctx: RenderContext,
): NetworkPolicy[] {
  const { settings, names, labels, request: req } = ctx;
  const cidrs = loadBalancerCidrs(settings);
  const allowed = checkCidrs(
    'goldenPath.network.egressAllowedCidrs',
    settings.egressAllowedCidrs ?? [],
  );
  const https: NetworkPolicyPort[] = [{ protocol: 'TCP', port: 443 }];
  const meta = (suffix: NetworkPolicySuffix) => ({
    name: `${req.name}-${suffix}`,
    namespace: names.namespace,
    labels,
    annotations: syncWave('access'),
  });
  const appPods = { matchLabels: selectorLabels(req.name) };
  const appPort: NetworkPolicyPort[] = [{ protocol: 'TCP', port: req.port }];
  // Typed parameter (not inferred) so a misspelt spec field is a compile error.
  const policy = (
    suffix: NetworkPolicySuffix,
    spec: NetworkPolicySpec,
  ): NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(suffix),
    spec,
  });

  return [
    // Selects every pod and allows nothing: the baseline the others open up.
    policy('default-deny', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    }),
    policy('allow-from-alb', {
      podSelector: appPods,
      policyTypes: ['Ingress'],
      ingress: [
        { from: cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: appPort },
      ],
    }),
    policy('allow-dns-egress', {
      podSelector: appPods,
      policyTypes: ['Egress'],
      egress: [
        {
          // One peer with both selectors: DNS pods *in* kube-system, not
          // every kube-system pod plus every kube-dns-labelled pod.
          to: [
            {
              namespaceSelector: {
                matchLabels: { [NAMESPACE_NAME_LABEL]: DNS_NAMESPACE },
              },
              podSelector: { matchLabels: { ...DNS_POD_LABELS } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    policy('allow-https-egress', {
      podSelector: appPods,
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              ipBlock: {
                cidr: ANY_IPV4,
                except: httpsEgressExceptions(settings),
              },
            },
          ],
          ports: https,
        },
        // Allow rules are a union: these reopen what the exceptions closed.
        ...(allowed.length
          ? [{ to: allowed.map(cidr => ({ ipBlock: { cidr } })), ports: https }]
          : []),
      ],
    }),
    policy('allow-from-monitoring', {
      podSelector: appPods,
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: {
                  [NAMESPACE_NAME_LABEL]: settings.monitoringNamespace,
                },
              },
            },
          ],
          ports: appPort,
        },
      ],
    }),
  ];
}
