import type {
  NetworkPolicy,
  NetworkPolicySpec,
} from '../render/networkPolicies';
import {
  Endpoint,
  Flow,
  PodEndpoint,
  cidrContains,
  effectivePolicyTypes,
  isEgressAllowed,
  isFlowAllowed,
  isIngressAllowed,
  selectorMatches,
} from './networkPolicyEvaluator';

// Examples from the Kubernetes NetworkPolicy documentation's semantics, so a
// bug in the evaluator (which the generated policies are proven with) shows.

const policy = (spec: NetworkPolicySpec, namespace = 'app'): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace },
  spec,
});
const pod = (
  namespace: string,
  labels: Record<string, string> = {},
  extra: Partial<PodEndpoint> = {},
): PodEndpoint => ({
  kind: 'pod',
  namespace,
  labels,
  ip: '10.1.0.1',
  ...extra,
});
const external = (ip: string): Endpoint => ({ kind: 'external', ip });
const flow = (
  from: Endpoint,
  to: Endpoint,
  port = 80,
  protocol: Flow['protocol'] = 'TCP',
): Flow => ({
  from,
  to,
  port,
  protocol,
});

const web = pod('app', { role: 'web' });
const db = pod('app', { role: 'db' });

describe('selectorMatches', () => {
  it.each<
    [
      string,
      Parameters<typeof selectorMatches>[0],
      Record<string, string>,
      boolean,
    ]
  >([
    ['empty selector, any labels', {}, { a: '1' }, true],
    ['empty selector, no labels', {}, {}, true],
    [
      'matchLabels equal',
      { matchLabels: { a: '1' } },
      { a: '1', b: '2' },
      true,
    ],
    [
      'matchLabels different value',
      { matchLabels: { a: '1' } },
      { a: '2' },
      false,
    ],
    ['matchLabels missing key', { matchLabels: { a: '1' } }, {}, false],
    [
      'In with a listed value',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] },
      { a: '2' },
      true,
    ],
    [
      'In without the key',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] },
      {},
      false,
    ],
    [
      'NotIn without the key',
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] },
      {},
      true,
    ],
    [
      'NotIn with a listed value',
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] },
      { a: '1' },
      false,
    ],
    [
      'Exists',
      { matchExpressions: [{ key: 'a', operator: 'Exists' }] },
      { a: '' },
      true,
    ],
    [
      'DoesNotExist',
      { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] },
      { a: '' },
      false,
    ],
    [
      'labels and expressions are ANDed',
      {
        matchLabels: { a: '1' },
        matchExpressions: [{ key: 'b', operator: 'Exists' }],
      },
      { a: '1' },
      false,
    ],
  ])('%s', (_case, selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.16.0/20', '10.0.31.255', true],
    ['10.0.16.0/20', '10.0.32.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['169.254.0.0/16', '169.254.169.254', true],
    ['10.1.2.3/32', '10.1.2.3', true],
    ['10.1.2.3/32', '10.1.2.4', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
  ])('%s contains %s: %p', (cidr, ip, expected) => {
    expect(cidrContains(cidr, ip)).toBe(expected);
  });
});

describe('policyTypes', () => {
  it('defaults to Ingress only', () => {
    expect(effectivePolicyTypes(policy({ podSelector: {} }))).toEqual([
      'Ingress',
    ]);
  });

  it('defaults to Ingress and Egress when egress rules exist', () => {
    expect(
      effectivePolicyTypes(policy({ podSelector: {}, egress: [{}] })),
    ).toEqual(['Ingress', 'Egress']);
  });
});

describe('isFlowAllowed', () => {
  it('allows everything when no policy selects the pods', () => {
    const other = policy({ podSelector: { matchLabels: { role: 'db' } } });
    expect(isFlowAllowed([other], flow(external('1.2.3.4'), web))).toBe(true);
  });

  it('denies all ingress to pods a policy without rules selects', () => {
    expect(isIngressAllowed([policy({ podSelector: {} })], flow(web, db))).toBe(
      false,
    );
  });

  it('does not restrict egress with an Ingress-only policy', () => {
    expect(
      isEgressAllowed(
        [policy({ podSelector: {} })],
        flow(web, external('1.2.3.4')),
      ),
    ).toBe(true);
  });

  it('denies all egress with an Egress policy without rules', () => {
    const denyEgress = policy({ podSelector: {}, policyTypes: ['Egress'] });
    expect(isFlowAllowed([denyEgress], flow(web, external('1.2.3.4')))).toBe(
      false,
    );
  });

  it('only applies policies in the pod namespace', () => {
    const elsewhere = policy({ podSelector: {} }, 'other');
    expect(isIngressAllowed([elsewhere], flow(web, db))).toBe(true);
  });

  it('treats a rule without from as allowing all sources', () => {
    const allowAll = policy({ podSelector: {}, ingress: [{}] });
    expect(isIngressAllowed([allowAll], flow(external('8.8.8.8'), db))).toBe(
      true,
    );
  });

  it('takes the union of policies', () => {
    const denyAll = policy({ podSelector: {} });
    const allowWeb = policy({
      podSelector: { matchLabels: { role: 'db' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
    });
    expect(isIngressAllowed([denyAll, allowWeb], flow(web, db))).toBe(true);
    expect(isIngressAllowed([denyAll, allowWeb], flow(db, db))).toBe(false);
  });

  it('limits a podSelector peer to the policy namespace', () => {
    const allowWeb = policy({
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
    });
    expect(
      isIngressAllowed([allowWeb], flow(pod('other', { role: 'web' }), db)),
    ).toBe(false);
  });

  it('ANDs namespaceSelector and podSelector in one peer', () => {
    const peer = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { team: 'x' } },
              podSelector: { matchLabels: { role: 'web' } },
            },
          ],
        },
      ],
    });
    const webInX = pod(
      'x-ns',
      { role: 'web' },
      { namespaceLabels: { team: 'x' } },
    );
    const dbInX = pod(
      'x-ns',
      { role: 'db' },
      { namespaceLabels: { team: 'x' } },
    );
    expect(isIngressAllowed([peer], flow(webInX, db))).toBe(true);
    expect(isIngressAllowed([peer], flow(dbInX, db))).toBe(false);
    expect(
      isIngressAllowed([peer], flow(pod('y-ns', { role: 'web' }), db)),
    ).toBe(false);
  });

  it('ORs separate peers', () => {
    const peers = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'x' } } },
            { podSelector: { matchLabels: { role: 'web' } } },
          ],
        },
      ],
    });
    const anyInX = pod('x-ns', {}, { namespaceLabels: { team: 'x' } });
    expect(isIngressAllowed([peers], flow(anyInX, db))).toBe(true);
    expect(isIngressAllowed([peers], flow(web, db))).toBe(true);
  });

  it('matches namespaces by their automatic name label, which cannot be forged', () => {
    const fromMonitoring = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
              },
            },
          ],
        },
      ],
    });
    const forged = pod(
      'shop',
      {},
      { namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    );
    expect(
      isIngressAllowed([fromMonitoring], flow(pod('monitoring'), db)),
    ).toBe(true);
    expect(isIngressAllowed([fromMonitoring], flow(forged, db))).toBe(false);
  });

  it('never matches external endpoints with selectors', () => {
    const fromAnyPod = policy({
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: {} }] }],
    });
    expect(isIngressAllowed([fromAnyPod], flow(external('10.1.0.1'), db))).toBe(
      false,
    );
    expect(isIngressAllowed([fromAnyPod], flow(pod('other'), db))).toBe(true);
  });

  it('honours ipBlock except', () => {
    const https = policy({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }],
        },
      ],
    });
    expect(isEgressAllowed([https], flow(web, external('93.184.216.34')))).toBe(
      true,
    );
    expect(
      isEgressAllowed([https], flow(web, external('169.254.169.254'))),
    ).toBe(false);
  });

  it.each<[string, Flow['protocol'], number, boolean]>([
    ['the listed port', 'TCP', 443, true],
    ['another port', 'TCP', 80, false],
    ['the listed port over UDP', 'UDP', 443, false],
  ])('matches ports and protocols: %s', (_case, protocol, port, expected) => {
    const rule = policy({
      podSelector: {},
      ingress: [{ ports: [{ port: 443 }] }],
    });
    expect(isIngressAllowed([rule], flow(web, db, port, protocol))).toBe(
      expected,
    );
  });

  it('matches port ranges with endPort', () => {
    const range = policy({
      podSelector: {},
      ingress: [{ ports: [{ port: 8000, endPort: 8010 }] }],
    });
    expect(isIngressAllowed([range], flow(web, db, 8010))).toBe(true);
    expect(isIngressAllowed([range], flow(web, db, 8011))).toBe(false);
  });

  it('resolves named ports on the destination pod', () => {
    const named = policy({
      podSelector: {},
      ingress: [{ ports: [{ port: 'http' }] }],
    });
    const target = {
      ...db,
      namedPorts: { http: { port: 3000, protocol: 'TCP' as const } },
    };
    expect(isIngressAllowed([named], flow(web, target, 3000))).toBe(true);
    expect(isIngressAllowed([named], flow(web, target, 3001))).toBe(false);
    expect(isIngressAllowed([named], flow(web, db, 3000))).toBe(false);
  });

  it('needs both egress at the source and ingress at the destination', () => {
    const denyEgress = policy({
      podSelector: { matchLabels: { role: 'web' } },
      policyTypes: ['Egress'],
    });
    expect(isIngressAllowed([denyEgress], flow(web, db))).toBe(true);
    expect(isFlowAllowed([denyEgress], flow(web, db))).toBe(false);
  });
});
