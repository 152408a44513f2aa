import fc from 'fast-check';
import {
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_MAX_LENGTH,
  SERVICE_NAME_MIN_LENGTH,
  SERVICE_NAME_PATTERN,
  SERVICE_NAME_TARGETS,
  isValidServiceName,
  normaliseRepoUrl,
  serviceNameProblem,
} from './name';

/*
 * Each target system's own published rule, written out here independently
 * of name.ts, for the names the platform derives from a service name. The
 * property below proves the service-name rule is exactly their intersection
 * (plus our own minimum length of 3).
 */

/** GitLab project paths ("Reserved project and group names", path rules of GitLab 16+). */
const GITLAB_RESERVED_PROJECT_NAMES = [
  '-', 'badges', 'blame', 'blob', 'builds', 'commits', 'create', 'create_dir',
  'edit', 'environments/folders', 'files', 'find_file', 'gitlab-lfs/objects',
  'info/lfs/objects', 'new', 'preview', 'raw', 'refs', 'tree', 'update',
  'upload', 'wikis',
];
function gitlabProjectPath(path: string): boolean {
  return (
    path.length >= 1 &&
    path.length <= 255 &&
    /^[a-zA-Z0-9_.-]+$/.test(path) &&
    // must not start or end with a special character, nor contain two in a row
    /^[a-zA-Z0-9]/.test(path) &&
    /[a-zA-Z0-9]$/.test(path) &&
    !/[_.-]{2}/.test(path) &&
    !/\.(git|atom)$/.test(path) &&
    !GITLAB_RESERVED_PROJECT_NAMES.includes(path)
  );
}

/** ECR repository names (CreateRepository API reference). */
function ecrRepository(name: string): boolean {
  return (
    name.length >= 2 &&
    name.length <= 256 &&
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(
      name,
    )
  );
}

/** IAM user, role and policy names (IAM quotas and name requirements). */
function iamName(name: string, max: number): boolean {
  return name.length >= 1 && name.length <= max && /^[\w+=,.@-]+$/.test(name);
}

/** DNS-1123 label (Kubernetes namespaces and most object names). */
function dns1123Label(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** DNS-1035 label (Kubernetes Service names). */
function dns1035Label(name: string): boolean {
  return name.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** Namespaces Kubernetes creates or reserves. */
function kubernetesNamespace(name: string): boolean {
  return (
    dns1123Label(name) &&
    !['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(
      name,
    ) &&
    !name.startsWith('kube-')
  );
}

/** Kubernetes label values. */
function labelValue(value: string): boolean {
  return (
    value.length <= 63 &&
    /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)
  );
}

/** A host name label (RFC 1123), not an IDNA-reserved "??--" label (RFC 5891). */
function hostLabel(label: string): boolean {
  return (
    label.length >= 1 &&
    label.length <= 63 &&
    /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(label) &&
    label.slice(2, 4) !== '--'
  );
}

/** ArgoCD AppProject/Application names: DNS-1123 subdomains; `default` is the built-in project. */
function argocdProject(name: string): boolean {
  return (
    name.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(
      name,
    ) &&
    name !== 'default'
  );
}

/** PostgreSQL role and database names: at most 63 bytes; roles `pg_…` are reserved. */
function postgresRole(name: string): boolean {
  return (
    Buffer.byteLength(name) <= 63 &&
    /^[a-z_][a-z0-9_$]*$/.test(name) &&
    !name.startsWith('pg_')
  );
}

/** AWS Secrets Manager secret names. */
function secretName(name: string): boolean {
  return name.length <= 512 && /^[A-Za-z0-9/_+=.@-]+$/.test(name);
}

/** Grafana dashboard uids. */
function grafanaUid(uid: string): boolean {
  return uid.length <= 40 && /^[a-zA-Z0-9_-]+$/.test(uid);
}

/** Every system's verdict on every name derived from `n`. */
function everySystemAccepts(n: string): boolean {
  return (
    gitlabProjectPath(n) &&
    gitlabProjectPath(`${n}-gitops`) &&
    ecrRepository(n) &&
    iamName(`idp-${n}-ecr-push-pull`, 128) &&
    iamName(`idp-${n}-ci`, 64) &&
    kubernetesNamespace(n) &&
    dns1035Label(n) &&
    labelValue(n) &&
    hostLabel(n) &&
    argocdProject(n) &&
    postgresRole(n.replace(/-/g, '_')) &&
    secretName(`idp/${n}`) &&
    grafanaUid(n)
  );
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz'.split('');
const DIGITS = '0123456789'.split('');

/** Candidates near the boundary of the rule, where mistakes would hide. */
const candidates = fc.oneof(
  fc.string({ maxLength: 60 }),
  {
    weight: 4,
    arbitrary: fc.string({
      unit: fc.constantFrom(...LOWER, ...DIGITS, '-', '-', '-'),
      minLength: 1,
      maxLength: 45,
    }),
  },
  fc.string({
    unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', ' ', 'é', '/'),
    maxLength: 45,
  }),
  fc.constantFrom(
    ...RESERVED_SERVICE_NAMES,
    'kube-system',
    'kube-x',
    'pg-proxy',
    'pgx',
    'ab--cd',
    'xn--abc',
    'a'.repeat(40),
    'a'.repeat(41),
    'ab',
    'abc',
    '9abc',
    'abc-',
  ),
);

describe('the service-name rule', () => {
  it('derives its maximum length from the tightest target', () => {
    expect(SERVICE_NAME_MAX_LENGTH).toBe(40);
    const tightest = SERVICE_NAME_TARGETS.filter(
      t => t.maxLength - t.derive('').length === SERVICE_NAME_MAX_LENGTH,
    ).map(t => t.what);
    expect(tightest).toEqual(['Grafana dashboard uid']);
  });

  it('is exactly the intersection of every target system’s own rule (property)', () => {
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(candidates, n => {
        const expected =
          everySystemAccepts(n) && n.length >= SERVICE_NAME_MIN_LENGTH;
        expect({ n, accepted: isValidServiceName(n) }).toEqual({
          n,
          accepted: expected,
        });
        seen[expected ? 'accepted' : 'rejected'] += 1;
      }),
      { numRuns: 3000 },
    );
    // Both outcomes are well represented, so agreement is not trivial.
    expect(seen.accepted).toBeGreaterThan(300);
    expect(seen.rejected).toBeGreaterThan(300);
  });

  it.each(['payments-api', 'orders2', 'a1-b2-c3'])('accepts %p', name => {
    expect(serviceNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['ab--cd', 'contains "--"'],
    ['default', 'is reserved'],
    ['new', 'is reserved'],
    ['kube-proxy', 'starts with "kube-"'],
    ['pg-bouncer', 'starts with "pg-"'],
    ['Payments', 'contains uppercase letters'],
    ['9lives', 'does not start with a letter'],
    ['pay_ments', 'contains characters other than a-z, 0-9 and "-"'],
    ['payments-', 'ends with "-"'],
    ['ab', 'is 2 characters long'],
  ])('explains %p: %s', (name, why) => {
    const problem = serviceNameProblem(name);
    expect(problem).toContain(why);
    expect(problem).toContain(`name "${name}"`);
  });

  it('is usable as a JSON-schema pattern (ECMAScript regex, no flags)', () => {
    expect(new RegExp(SERVICE_NAME_PATTERN).test('payments-api')).toBe(true);
  });
});

describe('normaliseRepoUrl', () => {
  it.each([
    ['https://gitlab.example.com/apps/x', 'https://gitlab.example.com/apps/x.git'],
    ['https://gitlab.example.com/apps/x.git', 'https://gitlab.example.com/apps/x.git'],
    ['https://gitlab.example.com/apps/x.git/', 'https://gitlab.example.com/apps/x.git'],
    ['https://gitlab.example.com/apps/x//', 'https://gitlab.example.com/apps/x.git'],
    ['https://gitlab.example.com/apps/x.GIT.git', 'https://gitlab.example.com/apps/x.git'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseRepoUrl(input)).toBe(expected);
  });
});
