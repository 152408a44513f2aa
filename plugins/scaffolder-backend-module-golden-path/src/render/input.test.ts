import { renderContext } from './context';
import { InputError } from '@backstage/errors';
import fc from 'fast-check';
import { invalidName, validName } from '../__testUtils__/arbitraries';
import {
  exampleImageTag,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import { renderAppProject, renderApplication } from './argocd';
import { renderGrafanaDashboard } from './dashboard';
import { deriveNames } from './derive';
import { renderGitopsRepository } from './gitops';
import { ecrRepositoryArn, renderEcrPolicy } from './iam';
import { assertImageTag, resolveServiceRequest, toWellFormed } from './input';
import {
  renderDashboardConfigMap,
  renderDeployment,
  renderExternalSecret,
  renderIngress,
  renderNamespace,
  renderRole,
  renderRoleBinding,
  renderService,
  renderServiceAccount,
  renderServiceMonitor,
} from './kubernetes';
import {
  SERVICE_NAME_RULE,
  isValidServiceName,
  serviceNameProblem,
} from '@internal/plugin-golden-path-common';
import { renderNetworkPolicies } from './networkPolicies';

const settings = exampleSettings;
const opts = { imageTag: exampleImageTag };
const withName = (name: string) => ({ ...exampleRequest, name });

/** Every exported function that takes a service name, by name. */
const renderers: Array<[string, (name: string) => unknown]> = [
  ['deriveNames', name => deriveNames(settings, name)],
  ['renderEcrPolicy', name => renderEcrPolicy(settings, name)],
  ['ecrRepositoryArn', name => ecrRepositoryArn(settings, name)],
  ['renderGrafanaDashboard', name => renderGrafanaDashboard(name)],
  ['renderNamespace', name => renderNamespace(renderContext(settings, withName(name)))],
  [
    'renderServiceAccount',
    name => renderServiceAccount(renderContext(settings, withName(name))),
  ],
  ['renderRole', name => renderRole(renderContext(settings, withName(name)))],
  ['renderRoleBinding', name => renderRoleBinding(renderContext(settings, withName(name)))],
  [
    'renderNetworkPolicies',
    name => renderNetworkPolicies(renderContext(settings, withName(name))),
  ],
  [
    'renderExternalSecret',
    name => renderExternalSecret(renderContext(settings, withName(name))),
  ],
  [
    'renderDeployment',
    name => renderDeployment(renderContext(settings, withName(name)), opts),
  ],
  ['renderService', name => renderService(renderContext(settings, withName(name)))],
  ['renderIngress', name => renderIngress(renderContext(settings, withName(name)))],
  [
    'renderServiceMonitor',
    name => renderServiceMonitor(renderContext(settings, withName(name))),
  ],
  [
    'renderDashboardConfigMap',
    name => renderDashboardConfigMap(renderContext(settings, withName(name))),
  ],
  ['renderAppProject', name => renderAppProject(renderContext(settings, withName(name)))],
  ['renderApplication', name => renderApplication(renderContext(settings, withName(name)))],
  [
    'renderGitopsRepository',
    name => renderGitopsRepository(renderContext(settings, withName(name)), opts),
  ],
];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('service names', () => {
  it('generates only names the rule accepts (sanity check of the generator)', () => {
    fc.assert(
      fc.property(validName, name => {
        expect(isValidServiceName(name)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('explains every rejected name with the field and the rule', () => {
    fc.assert(
      fc.property(
        invalidName,
        fc.constantFrom('name', 'serviceName'),
        (name, field) => {
          const problem = serviceNameProblem(name, field);
          expect(problem).toContain(field);
          expect(problem).toContain(SERVICE_NAME_RULE);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each(renderers)(
    '%s refuses every rejected name with InputError',
    (_fn, render) => {
      fc.assert(
        fc.property(invalidName, name => {
          const error = thrown(() => render(name));
          expect(error).toBeInstanceOf(InputError);
          expect((error as Error).message).toBe(
            serviceNameProblem(name, 'name'),
          );
        }),
        { numRuns: 200 },
      );
    },
  );

  it.each(renderers)(
    '%s refuses a missing name with InputError',
    (_fn, render) => {
      const error = thrown(() => render(undefined as unknown as string));
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe(
        serviceNameProblem(undefined, 'name'),
      );
    },
  );

  it.each([
    ['default', 'reserved by GitLab, Kubernetes or ArgoCD'],
    ['new', 'reserved by GitLab, Kubernetes or ArgoCD'],
    ['kube-system', 'starts with "kube-", which Kubernetes reserves'],
    ['kube-anything', 'starts with "kube-", which Kubernetes reserves'],
    ['pg-proxy', 'starts with "pg-", which PostgreSQL reserves'],
    ['a--b', 'contains "--"'],
    ['argocd', 'platform namespace'],
    ['monitoring', 'platform namespace'],
  ])('refuses the reserved name %p (%s)', (name, why) => {
    expect(() => renderNamespace(renderContext(settings, withName(name)))).toThrow(InputError);
    expect(() => deriveNames(settings, name)).toThrow(why);
  });
});

describe('request fields', () => {
  it('applies the form defaults when port and replicas are missing', () => {
    const { port, replicas } = resolveServiceRequest(settings, {
      name: 'svc',
      owner: 'group:default/a',
      description: '',
    });
    expect({ port, replicas }).toEqual({ port: 3000, replicas: 2 });
  });

  it.each([
    ['port', 1023],
    ['port', 65536],
    ['port', 3000.5],
    ['port', '3000'],
    ['replicas', 0],
    ['replicas', 11],
    ['replicas', Number.NaN],
  ])('refuses %s = %p naming the field', (field, value) => {
    expect(() =>
      resolveServiceRequest(settings, {
        ...exampleRequest,
        [field]: value,
      } as any),
    ).toThrow(new RegExp(`^${field} must be an integer`));
  });

  it.each(['owner', 'description'])('refuses a non-string %s', field => {
    expect(() =>
      resolveServiceRequest(settings, {
        ...exampleRequest,
        [field]: 42,
      } as any),
    ).toThrow(`${field} must be a string`);
  });

  it('replaces lone surrogates, which cannot be written as UTF-8', () => {
    expect(toWellFormed('a\ud800b\udc00c\ud83d\ude80')).toBe(
      'a\ufffdb\ufffdc\ud83d\ude80',
    );
  });

  it.each(['1.0.0', 'v1', 'sha-0123abc', '_x', 'A'.repeat(128)])(
    'accepts image tag %p',
    tag => {
      expect(() => assertImageTag(tag)).not.toThrow();
    },
  );

  it.each(['', '-x', '.x', 'a b', 'a:b', 'a/b', 'A'.repeat(129), 'x\n'])(
    'refuses image tag %p',
    tag => {
      expect(() => assertImageTag(tag)).toThrow(InputError);
    },
  );
});
