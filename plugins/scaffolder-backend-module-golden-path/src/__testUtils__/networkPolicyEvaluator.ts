/**
 * A small model of Kubernetes NetworkPolicy semantics
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/),
 * used to prove what the generated policies allow.
 *
 * Modelled: policyTypes (and their defaulting), podSelector and
 * namespaceSelector with matchLabels and matchExpressions, the automatic
 * `kubernetes.io/metadata.name` namespace label, ipBlock with except,
 * ports with protocol (default TCP), endPort and named ports, "no policy
 * selects the pod" meaning allow, allows being a union across policies and
 * rules, and a connection needing both the source's egress and the
 * destination's ingress to allow it.
 *
 * Not modelled: hostNetwork pods, node-local traffic, reply traffic (always
 * allowed), and CNI-specific treatment of ipBlock for pod IPs (here an
 * ipBlock matches any endpoint by IP).
 *
 * Test-only module: never import it from production code.
 */
import type {
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from '../render/networkPolicies';

/** Transport protocols NetworkPolicies know. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A pod as NetworkPolicies see it. */
export interface PodEndpoint {
  kind: 'pod';
  namespace: string;
  /** Labels of the pod's namespace (metadata.name is added automatically). */
  namespaceLabels?: Record<string, string>;
  labels: Record<string, string>;
  ip: string;
  /** Named container ports of the pod, for policies that use port names. */
  namedPorts?: Record<string, { port: number; protocol: Protocol }>;
}

/** Anything outside the cluster (or not a pod), known only by IP. */
export interface ExternalEndpoint {
  kind: 'external';
  ip: string;
}

/** One side of a connection. */
export type Endpoint = PodEndpoint | ExternalEndpoint;

/** A new connection from `from` to `to` on `port`/`protocol`. */
export interface Flow {
  from: Endpoint;
  to: Endpoint;
  port: number;
  protocol: Protocol;
}

/** The label the API server puts on every namespace; it cannot be changed. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** True when `labels` satisfy every matchLabels entry and matchExpression. */
export function selectorMatches(
  selector: LabelSelector,
  labels: Record<string, string>,
): boolean {
  const has = (key: string) =>
    Object.prototype.hasOwnProperty.call(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has(expr.key) || !values.includes(labels[expr.key])) return false;
        break;
      case 'NotIn':
        if (has(expr.key) && values.includes(labels[expr.key])) return false;
        break;
      case 'Exists':
        if (!has(expr.key)) return false;
        break;
      case 'DoesNotExist':
        if (has(expr.key)) return false;
        break;
      default:
        throw new Error(`Unknown selector operator ${String(expr.operator)}`);
    }
  }
  return true;
}

/** The effective labels of a pod's namespace. */
export function namespaceLabelsOf(pod: PodEndpoint): Record<string, string> {
  return {
    ...(pod.namespaceLabels ?? {}),
    [NAMESPACE_NAME_LABEL]: pod.namespace,
  };
}

interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

/** Parses an IPv4 or IPv6 address (no zone ids, no embedded IPv4 in IPv6). */
export function parseIp(ip: string): ParsedIp {
  if (ip.includes('.')) {
    const parts = ip.split('.');
    if (
      parts.length !== 4 ||
      parts.some(p => !/^\d{1,3}$/.test(p) || Number(p) > 255)
    ) {
      throw new Error(`Invalid IPv4 address ${ip}`);
    }
    return {
      family: 4,
      value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n),
    };
  }
  const halves = ip.split('::');
  if (halves.length > 2) throw new Error(`Invalid IPv6 address ${ip}`);
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) {
    throw new Error(`Invalid IPv6 address ${ip}`);
  }
  const all = [
    ...head,
    ...Array(halves.length === 2 ? missing : 0).fill('0'),
    ...tail,
  ];
  if (all.some(g => !/^[0-9a-f]{1,4}$/i.test(g)))
    throw new Error(`Invalid IPv6 address ${ip}`);
  return {
    family: 6,
    value: all.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n),
  };
}

/** True when `ip` lies in `cidr` (addresses of another family never do). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, prefixText] = cidr.split('/');
  const net = parseIp(base);
  const addr = parseIp(ip);
  if (net.family !== addr.family) return false;
  const bits = net.family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new Error(`Invalid CIDR ${cidr}`);
  }
  const shift = BigInt(bits - prefix);
  return net.value >> shift === addr.value >> shift;
}

function peerMatches(
  peer: NetworkPolicyPeer,
  policyNamespace: string,
  other: Endpoint,
): boolean {
  if (peer.ipBlock) {
    if (peer.podSelector || peer.namespaceSelector) {
      throw new Error('ipBlock cannot be combined with selectors in one peer');
    }
    return (
      cidrContains(peer.ipBlock.cidr, other.ip) &&
      !(peer.ipBlock.except ?? []).some(cidr => cidrContains(cidr, other.ip))
    );
  }
  if (!peer.podSelector && !peer.namespaceSelector) {
    throw new Error(
      'A peer must set podSelector, namespaceSelector or ipBlock',
    );
  }
  // Selectors only ever match pods.
  if (other.kind !== 'pod') return false;
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabelsOf(other))
    : other.namespace === policyNamespace;
  const podOk = peer.podSelector
    ? selectorMatches(peer.podSelector, other.labels)
    : true;
  return namespaceOk && podOk;
}

function portsMatch(
  ports: NetworkPolicyPort[] | undefined,
  flow: Flow,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(p => {
    if ((p.protocol ?? 'TCP') !== flow.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') {
      // A named port refers to a container port of the destination pod.
      const named =
        flow.to.kind === 'pod' ? flow.to.namedPorts?.[p.port] : undefined;
      return (
        named !== undefined &&
        named.port === flow.port &&
        named.protocol === flow.protocol
      );
    }
    if (p.endPort !== undefined)
      return flow.port >= p.port && flow.port <= p.endPort;
    return flow.port === p.port;
  });
}

/** policyTypes with the API server's defaulting applied. */
export function effectivePolicyTypes(
  policy: NetworkPolicy,
): Array<'Ingress' | 'Egress'> {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) {
    return policy.spec.policyTypes;
  }
  return (policy.spec.egress ?? []).length > 0
    ? ['Ingress', 'Egress']
    : ['Ingress'];
}

function policiesSelecting(
  policies: NetworkPolicy[],
  pod: PodEndpoint,
  direction: 'Ingress' | 'Egress',
): NetworkPolicy[] {
  return policies.filter(
    p =>
      p.metadata.namespace === pod.namespace &&
      effectivePolicyTypes(p).includes(direction) &&
      selectorMatches(p.spec.podSelector, pod.labels),
  );
}

/**
 * Whether the destination's ingress policies admit the flow. A pod no
 * Ingress policy selects (and anything that is not a pod) accepts all.
 */
export function isIngressAllowed(
  policies: NetworkPolicy[],
  flow: Flow,
): boolean {
  if (flow.to.kind !== 'pod') return true;
  const selecting = policiesSelecting(policies, flow.to, 'Ingress');
  if (selecting.length === 0) return true;
  return selecting.some(policy =>
    (policy.spec.ingress ?? []).some(
      rule =>
        ((rule.from ?? []).length === 0 ||
          (rule.from ?? []).some(peer =>
            peerMatches(peer, policy.metadata.namespace ?? '', flow.from),
          )) &&
        portsMatch(rule.ports, flow),
    ),
  );
}

/**
 * Whether the source's egress policies let the flow out. A pod no Egress
 * policy selects (and anything that is not a pod) may send anywhere.
 */
export function isEgressAllowed(
  policies: NetworkPolicy[],
  flow: Flow,
): boolean {
  if (flow.from.kind !== 'pod') return true;
  const selecting = policiesSelecting(policies, flow.from, 'Egress');
  if (selecting.length === 0) return true;
  return selecting.some(policy =>
    (policy.spec.egress ?? []).some(
      rule =>
        ((rule.to ?? []).length === 0 ||
          (rule.to ?? []).some(peer =>
            peerMatches(peer, policy.metadata.namespace ?? '', flow.to),
          )) &&
        portsMatch(rule.ports, flow),
    ),
  );
}

/** A connection happens only if the source may send and the destination may receive. */
export function isFlowAllowed(policies: NetworkPolicy[], flow: Flow): boolean {
  return isEgressAllowed(policies, flow) && isIngressAllowed(policies, flow);
}
