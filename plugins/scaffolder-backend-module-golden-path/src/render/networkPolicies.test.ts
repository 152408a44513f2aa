import { renderContext } from './context';
import fc from 'fast-check';
import { dnsLabel, settingsArb, usableName } from '../__testUtils__/arbitraries';
import { exampleRequest, exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import {
  Endpoint,
  Flow,
  PodEndpoint,
  Protocol,
  isFlowAllowed,
} from '../__testUtils__/networkPolicyEvaluator';
import { PlatformSettings } from './types';
import { isCidr, renderNetworkPolicies } from './networkPolicies';

/**
 * The intended policy, written from the specification rather than from the
 * generated objects: for pods in namespace `<name>`, allow exactly
 * - ingress to app pods on the app port (TCP) from the load balancer CIDRs
 *   and from pods in the monitoring namespace;
 * - egress from app pods to kube-dns pods in kube-system on 53 (UDP, TCP);
 * - egress from app pods to TCP 443 on any IPv4 address outside
 *   10/8, 172.16/12, 192.168/16, 169.254/16 and the VPC, or inside one of
 *   the allowlisted egress CIDRs;
 * and nothing else. Traffic not to or from that namespace is not our
 * policies' business (allowed).
 */
function intended(
  settings: PlatformSettings,
  name: string,
  port: number,
  flow: Flow,
): boolean {
  const ipv4 = (ip: string) => /^\d+\.\d+\.\d+\.\d+$/.test(ip);
  const toNumber = (ip: string) =>
    ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const within = (cidr: string, ip: string) => {
    const [net, bits] = cidr.split('/');
    const size = 2 ** (32 - Number(bits));
    return (
      ipv4(ip) &&
      Math.floor(toNumber(ip) / size) === Math.floor(toNumber(net) / size)
    );
  };
  const inAppNamespace = (e: Endpoint): e is PodEndpoint =>
    e.kind === 'pod' && e.namespace === name;
  const isAppPod = (e: Endpoint) =>
    inAppNamespace(e) && e.labels['app.kubernetes.io/name'] === name;

  const egressOk = (): boolean => {
    const { from, to } = flow;
    if (!inAppNamespace(from)) return true;
    if (!isAppPod(from)) return false;
    const dns =
      to.kind === 'pod' &&
      to.namespace === 'kube-system' &&
      to.labels['k8s-app'] === 'kube-dns' &&
      flow.port === 53 &&
      (flow.protocol === 'UDP' || flow.protocol === 'TCP');
    const closed = [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '169.254.0.0/16',
      ...(settings.vpcCidr ? [settings.vpcCidr] : []),
    ];
    const https =
      flow.protocol === 'TCP' &&
      flow.port === 443 &&
      ipv4(to.ip) &&
      (!closed.some(cidr => within(cidr, to.ip)) ||
        settings.egressAllowedCidrs.some(cidr => within(cidr, to.ip)));
    return dns || https;
  };

  const ingressOk = (): boolean => {
    const { from, to } = flow;
    if (!inAppNamespace(to)) return true;
    if (!isAppPod(to)) return false;
    if (flow.protocol !== 'TCP' || flow.port !== port) return false;
    const fromLoadBalancer = settings.loadBalancerSourceCidrs.some(cidr =>
      within(cidr, from.ip),
    );
    const fromMonitoring =
      from.kind === 'pod' && from.namespace === settings.monitoringNamespace;
    return fromLoadBalancer || fromMonitoring;
  };

  return egressOk() && ingressOk();
}

/** A random IPv4 address inside `cidr`. */
function ipIn(cidr: string): fc.Arbitrary<string> {
  const [net, bits] = cidr.split('/');
  const base = net.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return fc.integer({ min: 0, max: size - 1 }).map(offset => {
    const n = Math.floor(base / size) * size + offset;
    return [24, 16, 8, 0]
      .map(shift => Math.floor(n / 2 ** shift) % 256)
      .join('.');
  });
}

const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map(groups => groups.map(g => g.toString(16)).join(':'));

function flowArb(
  settings: PlatformSettings,
  name: string,
  port: number,
): fc.Arbitrary<Flow> {
  const ip = fc.oneof(
    ...settings.loadBalancerSourceCidrs.map(ipIn),
    ...settings.egressAllowedCidrs.map(ipIn),
    ...(settings.vpcCidr ? [ipIn(settings.vpcCidr)] : []),
    ipIn('169.254.0.0/16'),
    fc.constant('169.254.169.254'),
    ipIn('10.0.0.0/8'),
    ipIn('172.16.0.0/12'),
    ipIn('192.168.0.0/16'),
    fc.ipV4(),
    ipv6,
  );
  const appLabels = { 'app.kubernetes.io/name': name };
  const labels = fc.oneof(
    { weight: 3, arbitrary: fc.constant(appLabels) },
    fc.constant({ ...appLabels, extra: 'x' }),
    fc.constant({ 'k8s-app': 'kube-dns' }),
    fc.constant({}),
    dnsLabel.map(other => ({ 'app.kubernetes.io/name': other })),
    fc.dictionary(
      fc.constantFrom('app', 'k8s-app', 'app.kubernetes.io/name'),
      dnsLabel,
      {
        maxKeys: 2,
      },
    ),
  );
  const namespace = fc.oneof(
    { weight: 3, arbitrary: fc.constant(name) },
    fc.constantFrom('kube-system', settings.monitoringNamespace, 'default'),
    dnsLabel,
  );
  // Namespaces may carry any labels, including a forged metadata.name; the
  // API server overwrites that one, and the evaluator must too.
  const namespaceLabels = fc.oneof(
    fc.constant({}),
    fc.record({
      'kubernetes.io/metadata.name': fc.constantFrom(
        settings.monitoringNamespace,
        'kube-system',
        name,
      ),
    }),
  );
  const pod: fc.Arbitrary<Endpoint> = fc.record({
    kind: fc.constant('pod' as const),
    namespace,
    namespaceLabels,
    labels,
    ip,
  });
  const external: fc.Arbitrary<Endpoint> = fc.record({
    kind: fc.constant('external' as const),
    ip,
  });
  const endpoint = fc.oneof({ weight: 3, arbitrary: pod }, external);
  return fc.record({
    from: endpoint,
    to: endpoint,
    port: fc.oneof(
      fc.constantFrom(port, port, 53, 443, 80, 8080, 9090),
      fc.integer({ min: 1, max: 65535 }),
    ),
    protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'),
  });
}

describe('NetworkPolicies', () => {
  it('allow exactly the intended flows', () => {
    const scenario = settingsArb.chain(settings =>
      fc
        .tuple(usableName(settings), fc.integer({ min: 1024, max: 65535 }))
        .chain(([name, port]) =>
          fc.record({
            settings: fc.constant(settings),
            name: fc.constant(name),
            port: fc.constant(port),
            flows: fc.array(flowArb(settings, name, port), {
              minLength: 20,
              maxLength: 20,
            }),
          }),
        ),
    );
    fc.assert(
      fc.property(scenario, ({ settings, name, port, flows }) => {
        const policies = renderNetworkPolicies(renderContext(settings, {
          ...exampleRequest,
          name,
          port,
        }));
        for (const flow of flows) {
          expect({ flow, allowed: isFlowAllowed(policies, flow) }).toEqual({
            flow,
            allowed: intended(settings, name, port, flow),
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  describe('examples', () => {
    const policies = renderNetworkPolicies(renderContext(exampleSettings, exampleRequest));
    const app: PodEndpoint = {
      kind: 'pod',
      namespace: 'payments-api',
      labels: { 'app.kubernetes.io/name': 'payments-api' },
      ip: '10.1.2.3',
    };
    const otherPodInNamespace: PodEndpoint = {
      ...app,
      labels: { run: 'debug' },
    };
    const pod = (
      namespace: string,
      labels: Record<string, string> = {},
    ): PodEndpoint => ({
      kind: 'pod',
      namespace,
      labels,
      ip: '10.9.9.9',
    });
    const external = (ip: string): Endpoint => ({ kind: 'external', ip });
    const tcp = (from: Endpoint, to: Endpoint, port: number): Flow => ({
      from,
      to,
      port,
      protocol: 'TCP',
    });

    it.each<[string, Flow, boolean]>([
      [
        'ALB subnet to the app port',
        tcp(external('10.0.3.4'), app, 3000),
        true,
      ],
      [
        'the second ALB subnet to the app port',
        tcp(external('10.0.20.9'), app, 3000),
        true,
      ],
      [
        'a pod with a VPC address outside the ALB subnets to the app port',
        tcp(
          { ...pod('shop', { 'app.kubernetes.io/name': 'shop' }), ip: '10.0.200.7' },
          app,
          3000,
        ),
        false,
      ],
      [
        'a node of the VPC outside the ALB subnets to the app port',
        tcp(external('10.0.77.1'), app, 3000),
        false,
      ],
      [
        'app to a VPC address over HTTPS (another service, a database)',
        tcp(app, external('10.0.200.7'), 443),
        false,
      ],
      [
        'app to 10/8 over HTTPS',
        tcp(app, external('10.200.1.1'), 443),
        false,
      ],
      [
        'app to 172.16/12 over HTTPS',
        tcp(app, external('172.31.255.1'), 443),
        false,
      ],
      [
        'app to 192.168/16 over HTTPS',
        tcp(app, external('192.168.1.1'), 443),
        false,
      ],
      [
        'app to link-local over HTTPS',
        tcp(app, external('169.254.10.10'), 443),
        false,
      ],
      [
        'app to the public address just past 172.16/12',
        tcp(app, external('172.32.0.1'), 443),
        true,
      ],
      [
        'ALB subnet to another port',
        tcp(external('10.0.3.4'), app, 8080),
        false,
      ],
      [
        'internet to the app port',
        tcp(external('203.0.113.5'), app, 3000),
        false,
      ],
      [
        'Prometheus to the app port',
        tcp(pod('monitoring', { app: 'prometheus' }), app, 3000),
        true,
      ],
      ['another namespace to the app port', tcp(pod('shop'), app, 3000), false],
      [
        'a pod forging the monitoring namespace label',
        tcp(
          {
            ...pod('shop'),
            namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
          },
          app,
          3000,
        ),
        false,
      ],
      [
        'app to kube-dns over UDP',
        {
          ...tcp(app, pod('kube-system', { 'k8s-app': 'kube-dns' }), 53),
          protocol: 'UDP',
        },
        true,
      ],
      [
        'app to kube-dns over TCP',
        tcp(app, pod('kube-system', { 'k8s-app': 'kube-dns' }), 53),
        true,
      ],
      [
        'app to another kube-system pod on 53',
        tcp(app, pod('kube-system', { 'k8s-app': 'metrics' }), 53),
        false,
      ],
      [
        'app to a kube-dns look-alike elsewhere',
        tcp(app, pod('shop', { 'k8s-app': 'kube-dns' }), 53),
        false,
      ],
      [
        'app to an external API over HTTPS',
        tcp(app, external('203.0.113.5'), 443),
        true,
      ],
      [
        'app to the instance metadata service',
        tcp(app, external('169.254.169.254'), 443),
        false,
      ],
      [
        'app to an external host over HTTP',
        tcp(app, external('203.0.113.5'), 80),
        false,
      ],
      [
        'app to an IPv6 host over HTTPS',
        tcp(app, external('2001:db8::1'), 443),
        false,
      ],
      [
        'a non-app pod in the namespace to the internet',
        tcp(otherPodInNamespace, external('203.0.113.5'), 443),
        false,
      ],
      [
        'the ALB to a non-app pod in the namespace',
        tcp(external('10.0.3.4'), otherPodInNamespace, 3000),
        false,
      ],
      [
        'traffic between other namespaces',
        tcp(pod('shop'), pod('cart'), 5432),
        true,
      ],
    ])('%s: allowed = %p', (_what, flow, allowed) => {
      expect(isFlowAllowed(policies, flow)).toBe(allowed);
    });
  });

  describe('egress allowlist', () => {
    const withAllowlist = renderNetworkPolicies(
      renderContext(
        { ...exampleSettings, egressAllowedCidrs: ['10.20.0.0/24'] },
        exampleRequest,
      ),
    );
    const app: PodEndpoint = {
      kind: 'pod',
      namespace: 'payments-api',
      labels: { 'app.kubernetes.io/name': 'payments-api' },
      ip: '10.1.2.3',
    };
    const to = (ip: string, port = 443): Flow => ({
      from: app,
      to: { kind: 'external', ip },
      port,
      protocol: 'TCP',
    });

    it.each<[string, Flow, boolean]>([
      ['an allowlisted private address on 443', to('10.20.0.9'), true],
      ['the same address on another port', to('10.20.0.9', 5432), false],
      ['a private address next to the allowlist', to('10.20.1.9'), false],
      ['a public address', to('198.51.100.7'), true],
    ])('%s: allowed = %p', (_what, flow, allowed) => {
      expect(isFlowAllowed(withAllowlist, flow)).toBe(allowed);
    });

    it('excepts every private range, link-local and the VPC from HTTPS egress', () => {
      const https = withAllowlist.find(p =>
        p.metadata.name.endsWith('allow-https-egress'),
      )!;
      expect(https.spec.egress![0].to).toEqual([
        {
          ipBlock: {
            cidr: '0.0.0.0/0',
            except: [
              '10.0.0.0/8',
              '172.16.0.0/12',
              '192.168.0.0/16',
              '169.254.0.0/16',
              '10.0.0.0/16',
            ],
          },
        },
      ]);
    });
  });

  describe('load balancer CIDRs', () => {
    it('refuses 0.0.0.0/0, which admits every pod of the cluster', () => {
      expect(() =>
        renderNetworkPolicies(
          renderContext(
            { ...exampleSettings, loadBalancerSourceCidrs: ['0.0.0.0/0'] },
            exampleRequest,
          ),
        ),
      ).toThrow('admits every address');
    });

    it('refuses an empty list, which would admit every source', () => {
      expect(() =>
        renderNetworkPolicies(renderContext({ ...exampleSettings, loadBalancerSourceCidrs: [] }, exampleRequest),
        ),
      ).toThrow('loadBalancerSourceCidrs is empty');
    });

    it('refuses a malformed CIDR', () => {
      expect(() =>
        renderNetworkPolicies(renderContext({
            ...exampleSettings,
            loadBalancerSourceCidrs: ['10.0.0.0/20', '10.0.0.300/8'],
          }, exampleRequest),
        ),
      ).toThrow('invalid CIDRs: 10.0.0.300/8');
    });

    it.each([
      ['10.0.0.0/16', true],
      ['0.0.0.0/0', true],
      ['2600:1f18::/40', true],
      ['10.0.0.0', false],
      ['10.0.0.0/33', false],
      ['256.0.0.0/8', false],
      ['not-a-cidr', false],
    ])('isCidr(%p) = %p', (text, valid) => {
      expect(isCidr(text)).toBe(valid);
    });
  });
});
