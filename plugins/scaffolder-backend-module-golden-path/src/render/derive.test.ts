import fc from 'fast-check';
import { usableName } from '../__testUtils__/arbitraries';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { normaliseRepoUrl } from '@internal/plugin-golden-path-common';
import { deriveNames } from './derive';

describe('deriveNames', () => {
  const names = deriveNames(exampleSettings, 'payments-api');

  it.each([
    ['appRepoPath', 'apps/payments-api'],
    ['gitopsRepoPath', 'platform/gitops/payments-api-gitops'],
    ['namespace', 'payments-api'],
    ['ecrRepository', 'payments-api'],
    ['iamPolicyName', 'idp-payments-api-ecr-push-pull'],
    ['serviceAccount', 'payments-api'],
    ['host', 'payments-api.apps.example.com'],
    ['argocdProject', 'payments-api'],
    ['argocdApplication', 'payments-api'],
    ['appRepoUrl', 'https://gitlab.example.com/apps/payments-api.git'],
    [
      'gitopsRepoUrl',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops.git',
    ],
    ['appRepoWebUrl', 'https://gitlab.example.com/apps/payments-api'],
    [
      'gitopsRepoWebUrl',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops',
    ],
    ['liveUrl', 'https://payments-api.apps.example.com'],
    [
      'argocdAppUrl',
      'https://argocd.example.com/applications/argocd/payments-api',
    ],
  ])('derives %s = %p', (key, value) => {
    expect(names[key as keyof typeof names]).toBe(value);
  });

  it('tolerates config spelled with a scheme, slashes and dots', () => {
    const sloppy = deriveNames(
      {
        ...exampleSettings,
        gitlabHost: 'https://gitlab.example.com/',
        appGroup: '/apps/',
        gitopsGroup: 'platform/gitops/',
        baseDomain: '.apps.example.com.',
        argocdUrl: 'https://argocd.example.com/',
      },
      'payments-api',
    );
    expect(sloppy).toEqual(names);
  });

  it('keeps every derived Kubernetes and IAM name within its length limit', () => {
    fc.assert(
      fc.property(usableName(exampleSettings), name => {
        const d = deriveNames(exampleSettings, name);
        expect(d.namespace.length).toBeLessThanOrEqual(63);
        expect(d.argocdApplication.length).toBeLessThanOrEqual(63);
        expect(d.host.split('.')[0].length).toBeLessThanOrEqual(63);
        expect(d.iamPolicyName.length).toBeLessThanOrEqual(128);
        expect(d.ecrRepository.length).toBeLessThanOrEqual(256);
      }),
      { numRuns: 200 },
    );
  });
});

describe('normaliseRepoUrl', () => {
  it.each([
    [
      'https://gitlab.example.com/g/app',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      'https://gitlab.example.com/g/app.git',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      'https://gitlab.example.com/g/app.git.git',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      'https://gitlab.example.com/g/app/',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      'https://gitlab.example.com/g/app.git/',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      'https://gitlab.example.com/g/app.GIT',
      'https://gitlab.example.com/g/app.git',
    ],
    [
      '  https://gitlab.example.com/g/app  ',
      'https://gitlab.example.com/g/app.git',
    ],
  ])('normalises %p to %p', (input, expected) => {
    expect(normaliseRepoUrl(input)).toBe(expected);
  });

  const url = fc
    .tuple(
      fc.webUrl(),
      fc.array(fc.constantFrom('.git', '/', '.GIT', '.git/'), { maxLength: 4 }),
    )
    .map(([base, suffixes]) => base + suffixes.join(''));

  it('always ends in exactly one .git and no slash', () => {
    fc.assert(
      fc.property(url, input => {
        const out = normaliseRepoUrl(input);
        expect(out.endsWith('.git')).toBe(true);
        expect(out.toLowerCase().endsWith('.git.git')).toBe(false);
        expect(out.slice(0, -4).endsWith('/')).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(url, input => {
        expect(normaliseRepoUrl(normaliseRepoUrl(input))).toBe(
          normaliseRepoUrl(input),
        );
      }),
      { numRuns: 200 },
    );
  });
});
