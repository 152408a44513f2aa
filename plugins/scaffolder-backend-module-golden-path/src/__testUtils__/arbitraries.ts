/**
 * fast-check generators for render-layer properties.
 *
 * Test-only module: never import it from production code.
 */
// Test-only helpers import dev dependencies; nothing in src/index.ts reaches this file.
// eslint-disable-next-line @backstage/no-undeclared-imports
import fc from 'fast-check';
import { reservedNameProblem } from '../render/input';
import {
  RESERVED_SERVICE_NAMES,
  RESERVED_SERVICE_NAME_PREFIXES,
  SERVICE_NAME_MAX_LENGTH,
  SERVICE_NAME_MIN_LENGTH,
  isValidServiceName,
} from '@internal/plugin-golden-path-common';
import { PlatformSettings, ServiceRequest } from '../render/types';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';

const LOWER = 'abcdefghijklmnopqrstuvwxyz'.split('');
const DIGITS = '0123456789'.split('');

/**
 * Any name the rule accepts, built from the rule itself: a letter, 1 to 38
 * characters of `[-a-z0-9]` with no two `-` in a row, and a letter or digit,
 * minus the reserved names. Lengths at both bounds are generated explicitly
 * because they are where off-by-one bugs live.
 */
export const validName: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...LOWER),
    fc.oneof(
      fc.string({
        unit: fc.constantFrom(...LOWER, ...DIGITS, '-'),
        minLength: SERVICE_NAME_MIN_LENGTH - 2,
        maxLength: SERVICE_NAME_MAX_LENGTH - 2,
      }),
      fc.string({
        unit: fc.constantFrom(...LOWER, ...DIGITS, '-'),
        minLength: SERVICE_NAME_MAX_LENGTH - 2,
        maxLength: SERVICE_NAME_MAX_LENGTH - 2,
      }),
    ),
    fc.constantFrom(...LOWER, ...DIGITS),
  )
  // "--" becomes "-a": same length, never two separators in a row.
  .map(([first, middle, last]) => `${first}${middle.replace(/--/g, '-a')}${last}`)
  .filter(
    name =>
      !RESERVED_SERVICE_NAMES.includes(name) &&
      !RESERVED_SERVICE_NAME_PREFIXES.some(p => name.startsWith(p)),
  );

/** A valid name that is not reserved under `settings`. */
export function usableName(settings: PlatformSettings): fc.Arbitrary<string> {
  return validName.filter(
    name => reservedNameProblem(settings, name) === undefined,
  );
}

/** Strings the name rule rejects: random text plus near misses of valid names. */
export const invalidName: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 45 }),
    validName.map(n => n.toUpperCase()),
    validName.map(n => `${n}-`),
    validName.map(n => `9${n}`),
    validName.map(n => `-${n}`),
    validName.map(n => `${n}${'x'.repeat(SERVICE_NAME_MAX_LENGTH)}`),
    validName.map(n => n.slice(0, 2)),
    validName.map(n => `${n.slice(0, 1)}--${n.slice(1)}`),
    fc.constantFrom(...RESERVED_SERVICE_NAMES),
    validName.map(n => `kube-${n}`.slice(0, SERVICE_NAME_MAX_LENGTH)),
    validName.map(n => `pg-${n}`.slice(0, SERVICE_NAME_MAX_LENGTH)),
    fc
      .tuple(validName, fc.constantFrom('_', '.', ' ', 'É', '/', ':', '\n'))
      .map(([n, c]) => `${n.slice(0, 1)}${c}${n.slice(1)}`),
  )
  .filter(name => !isValidServiceName(name));

/**
 * Fragments that have broken YAML, Markdown or label handling somewhere:
 * indicators, YAML 1.1 booleans and numbers, line and paragraph separators,
 * a BOM, control characters, a lone surrogate, template syntax.
 */
export const NASTY_FRAGMENTS: readonly string[] = [
  ':',
  ': ',
  ' :',
  '"',
  "'",
  '#',
  ' #',
  '\n',
  '\r\n',
  '\r',
  '\t',
  '*',
  '*x',
  '&',
  '&a',
  '!',
  '!!str',
  '|',
  '>',
  '%',
  '@',
  '`',
  '{',
  '}',
  '[',
  ']',
  ',',
  '?',
  '- ',
  '---',
  '...',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'null',
  '~',
  'true',
  '0x1F',
  '0o17',
  '017',
  '1_000',
  '1e3',
  '.inf',
  '.NaN',
  '12:30',
  '2024-01-01',
  '<<',
  '=',
  '\u2028',
  '\u2029',
  '\u0085',
  '\ufeff',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u009f',
  '\u00a0',
  '\ufffe',
  '\ud800',
  'é',
  '漢字',
  '🚀',
  '\\',
  '\\n',
  '${{ x }}',
  '{{ x }}',
  '<b>',
  '[a](b)',
  '  ',
];

/** Arbitrary free text: random unicode mixed with {@link NASTY_FRAGMENTS}. */
export const nastyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...NASTY_FRAGMENTS),
        fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
      ),
      { maxLength: 10 },
    )
    .map(parts => parts.join('')),
);

/** Owner refs: realistic ones and arbitrary text. */
export const ownerText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('group', 'user', 'Group'),
      fc.constantFrom('default', 'platform'),
      fc.string({
        unit: fc.constantFrom(...LOWER, '-', '.', '_'),
        minLength: 1,
        maxLength: 70,
      }),
    )
    .map(([kind, ns, n]) => `${kind}:${ns}/${n}`),
  nastyText,
);

/** An IPv4 CIDR aligned to its prefix (the form operators write). */
export const ipv4Cidr: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    fc.integer({ min: 8, max: 28 }),
  )
  .map(([n, prefix]) => {
    const masked = Number(
      (BigInt(n) >> BigInt(32 - prefix)) << BigInt(32 - prefix),
    );
    const octets = [24, 16, 8, 0].map(shift => (masked >>> shift) & 255);
    return `${octets.join('.')}/${prefix}`;
  });

/** A DNS-1123 label, for namespaces other than the app's. */
export const dnsLabel: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...LOWER),
    fc.string({
      unit: fc.constantFrom(...LOWER, ...DIGITS, '-'),
      maxLength: 10,
    }),
    fc.constantFrom(...LOWER, ...DIGITS),
  )
  .map(([a, b, c]) => `${a}${b}${c}`);

/** Platform settings with the parts properties care about varied. */
export const settingsArb: fc.Arbitrary<PlatformSettings> = fc
  .record({
    monitoringNamespace: fc.oneof(fc.constant('monitoring'), dnsLabel),
    loadBalancerSourceCidrs: fc.array(ipv4Cidr, { minLength: 1, maxLength: 3 }),
    vpcCidr: fc.option(ipv4Cidr, { nil: undefined }),
    egressAllowedCidrs: fc.array(ipv4Cidr, { maxLength: 2 }),
    secrets: fc.oneof(
      fc.record({
        provider: fc.constant('aws' as const),
        prefix: fc.constantFrom('idp', 'platform/idp'),
      }),
      fc.record({
        provider: fc.constant('vault' as const),
        prefix: fc.constantFrom('idp', 'teams'),
        vault: fc.record({
          server: fc.constantFrom('https://vault.example.com', 'https://vault.internal:8200'),
          kvMount: fc.constantFrom('secret', 'kv'),
          authMount: fc.constantFrom('kubernetes', 'eks-prod'),
        }),
      }),
    ),
    awsAccountId: fc.string({
      unit: fc.constantFrom(...DIGITS),
      minLength: 12,
      maxLength: 12,
    }),
    awsRegion: fc.constantFrom(
      'eu-west-1',
      'eu-central-1',
      'us-east-1',
      'ap-southeast-2',
    ),
  })
  .map(overrides => ({
    ...exampleSettings,
    ...overrides,
    ecrRegistry: `${overrides.awsAccountId}.dkr.ecr.${overrides.awsRegion}.amazonaws.com`,
  }))
  .filter(s => s.monitoringNamespace !== s.argocdNamespace);

/** Settings together with a request those settings accept. */
export const settingsAndRequest: fc.Arbitrary<{
  settings: PlatformSettings;
  request: ServiceRequest;
}> = settingsArb.chain(settings =>
  fc.record({
    settings: fc.constant(settings),
    request: fc.record({
      name: usableName(settings),
      owner: ownerText,
      description: nastyText,
      port: fc.integer({ min: 1024, max: 65535 }),
      replicas: fc.integer({ min: 1, max: 10 }),
    }),
  }),
);

/** Image tags CI might push. */
export const imageTag: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...LOWER, ...DIGITS, '_'),
    fc.string({
      unit: fc.constantFrom(...LOWER, ...DIGITS, '.', '-', '_'),
      maxLength: 40,
    }),
  )
  .map(([a, b]) => `${a}${b}`);
