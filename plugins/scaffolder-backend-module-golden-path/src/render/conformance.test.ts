import { renderContext } from './context';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { imageTag, settingsAndRequest } from '../__testUtils__/arbitraries';
import {
  CRD_FILES,
  conformanceDir,
  crdInfo,
  crdValidator,
  loadCrdSchema,
  strictify,
} from '@internal/plugin-golden-path-node/testUtils';
import {
  exampleImageTag,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import {
  unknownCoreFields,
  validateCoreObject,
} from '../__testUtils__/kubernetesModels';
import { createManifestValidator } from '../__testUtils__/manifests';
import { renderApplication, renderAppProject } from './argocd';
import { renderGitopsObjects } from './gitops';
import {
  renderDeployment,
  renderExternalSecret,
  renderLimitRange,
  renderResourceQuota,
  renderSecretStore,
  renderServiceMonitor,
} from './kubernetes';
import { renderNamespaceBundle } from '../plan/ServicePlan';
import { renderNetworkPolicies } from './networkPolicies';

const opts = { imageTag: exampleImageTag };

describe('conformance kit', () => {
  it('is found next to the repository', () => {
    expect(
      fs.existsSync(path.join(conformanceDir(), CRD_FILES.application)),
    ).toBe(true);
  });

  it('fails with a clear message when it is missing', () => {
    const fakeRepo = fs.mkdtempSync(path.join(os.tmpdir(), 'no-kit-'));
    try {
      fs.writeFileSync(path.join(fakeRepo, 'yarn.lock'), '');
      expect(() => conformanceDir(fakeRepo)).toThrow(
        /Conformance kit not found at .*shared/,
      );
    } finally {
      fs.rmSync(fakeRepo, { recursive: true, force: true });
    }
  });

  it('serves SecretStore v1 (the version we generate)', () => {
    expect(crdInfo(CRD_FILES.secretStore).versions).toContainEqual({
      name: 'v1',
      served: true,
      storage: true,
    });
  });

  it('serves ExternalSecret v1 (the version we generate)', () => {
    expect(crdInfo(CRD_FILES.externalSecret).versions).toContainEqual({
      name: 'v1',
      served: true,
      storage: true,
    });
  });

  it('refuses a version the CRD does not have', () => {
    expect(() => loadCrdSchema(CRD_FILES.serviceMonitor, 'v2')).toThrow(
      'has no version v2',
    );
  });
});

describe('strictify', () => {
  it('closes objects that list properties', () => {
    expect(
      strictify({ type: 'object', properties: { a: { type: 'string' } } }),
    ).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
      additionalProperties: false,
    });
  });

  it.each([
    [
      'x-kubernetes-preserve-unknown-fields',
      { 'x-kubernetes-preserve-unknown-fields': true },
    ],
    [
      'an explicit additionalProperties',
      { additionalProperties: { type: 'string' } },
    ],
  ])('leaves objects with %s open', (_why, extra) => {
    const schema = { type: 'object', properties: { a: {} }, ...extra };
    expect(strictify(schema)).toEqual(schema);
  });

  it('treats a property called "properties" as data, not a keyword', () => {
    const schema = {
      type: 'object',
      properties: { properties: { type: 'string' } },
    };
    expect(strictify(schema).properties.properties).toEqual({ type: 'string' });
  });

  it('does not modify its input', () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'object', properties: {} } },
    };
    const copy = JSON.parse(JSON.stringify(schema));
    strictify(schema);
    expect(schema).toEqual(copy);
  });
});

describe('strict CRD validation catches typos the upstream schemas let through', () => {
  const typos: Array<[string, string, string, () => any, (o: any) => void]> = [
    [
      'Application',
      CRD_FILES.application,
      'v1alpha1',
      () => renderApplication(renderContext(exampleSettings, exampleRequest)),
      o => {
        o.spec.syncPolicy.automated.selfheal = true;
      },
    ],
    [
      'AppProject',
      CRD_FILES.appProject,
      'v1alpha1',
      () => renderAppProject(renderContext(exampleSettings, exampleRequest)),
      o => {
        o.spec.sourceRepo = ['*'];
      },
    ],
    [
      'ExternalSecret',
      CRD_FILES.externalSecret,
      'v1',
      () => renderExternalSecret(renderContext(exampleSettings, exampleRequest)),
      o => {
        o.spec.dataFrom[0].extract.keys = 'idp/other';
      },
    ],
    [
      'SecretStore (aws)',
      CRD_FILES.secretStore,
      'v1',
      () => renderSecretStore(renderContext(exampleSettings, exampleRequest)),
      o => {
        o.spec.provider.aws.auth.jwt.serviceAccount = { name: 'x' };
      },
    ],
    [
      'SecretStore (vault)',
      CRD_FILES.secretStore,
      'v1',
      () =>
        renderSecretStore(
          renderContext(
            {
              ...exampleSettings,
              secrets: {
                provider: 'vault',
                prefix: 'idp',
                vault: {
                  server: 'https://vault.example.com',
                  kvMount: 'secret',
                  authMount: 'kubernetes',
                },
              },
            },
            exampleRequest,
          ),
        ),
      o => {
        o.spec.provider.vault.auth.kubernetes.roleName = 'x';
      },
    ],
    [
      'ServiceMonitor',
      CRD_FILES.serviceMonitor,
      'v1',
      () => renderServiceMonitor(renderContext(exampleSettings, exampleRequest)),
      o => {
        o.spec.endpoints[0].scrapeInterval = '5s';
      },
    ],
  ];

  it.each(typos)(
    '%s: the generated object is valid',
    (_kind, file, version, render) => {
      expect(crdValidator(file, version).validate(render())).toEqual([]);
    },
  );

  it.each(typos)(
    '%s: a misspelt field fails',
    (_kind, file, version, render, typo) => {
      const object = render();
      typo(object);
      expect(crdValidator(file, version).validate(object).join('\n')).toMatch(
        /must NOT have additional properties/,
      );
    },
  );

  it.each(typos)(
    '%s: the upstream schema alone accepts it',
    (_kind, file, version, render, typo) => {
      const object = render();
      typo(object);
      expect(
        crdValidator(file, version, { strict: false }).validate(object),
      ).toEqual([]);
    },
  );

  it.each([
    [
      'apiVersion',
      { apiVersion: 'argoproj.io/v1beta1' },
      /apiVersion is "argoproj.io\/v1beta1"/,
    ],
    ['kind', { kind: 'ApplicationSet' }, /kind is "ApplicationSet"/],
  ])('checks %s, which the schema does not pin', (_field, change, message) => {
    const object = {
      ...renderApplication(renderContext(exampleSettings, exampleRequest)),
      ...change,
    };
    expect(
      crdValidator(CRD_FILES.application, 'v1alpha1')
        .validate(object)
        .join('\n'),
    ).toMatch(message);
  });
});

describe('core kinds', () => {
  it('accepts the generated Deployment', () => {
    expect(
      validateCoreObject(
        renderDeployment(renderContext(exampleSettings, exampleRequest), opts),
      ),
    ).toEqual([]);
  });

  it('catches a misspelt field', () => {
    const deployment: any = renderDeployment(renderContext(exampleSettings, exampleRequest),
      opts,
    );
    deployment.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(unknownCoreFields(deployment)).toEqual([
      '/spec/template/spec/containers/0/imagePullPolicyy is not a known field',
    ]);
  });

  it('catches a wrong type', () => {
    const deployment: any = renderDeployment(renderContext(exampleSettings, exampleRequest),
      opts,
    );
    deployment.spec.replicas = '2';
    expect(validateCoreObject(deployment).join('\n')).toMatch(
      /replicas must be integer/,
    );
  });

  it('catches a missing required field', () => {
    const deployment: any = renderDeployment(renderContext(exampleSettings, exampleRequest),
      opts,
    );
    delete deployment.spec.template.spec.containers[0].name;
    expect(validateCoreObject(deployment).join('\n')).toMatch(/name/);
  });

  it('knows NetworkPolicy rules use "from" on the wire', () => {
    const [, fromAlb]: any[] = renderNetworkPolicies(renderContext(exampleSettings, exampleRequest),
    );
    expect(validateCoreObject(fromAlb)).toEqual([]);
    fromAlb.spec.ingress[0]._from = fromAlb.spec.ingress[0].from;
    expect(unknownCoreFields(fromAlb)).toEqual([
      '/spec/ingress/0/_from is not a known field',
    ]);
  });
});

describe('core guard rails', () => {
  it.each([
    ['ResourceQuota', renderResourceQuota],
    ['LimitRange', renderLimitRange],
  ] as const)('accepts the generated %s', (_kind, render) => {
    expect(
      validateCoreObject(render(renderContext(exampleSettings, exampleRequest))),
    ).toEqual([]);
  });

  it('reads a LimitRange default on the wire as "default"', () => {
    const limits: any = renderLimitRange(
      renderContext(exampleSettings, exampleRequest),
    );
    limits.spec.limits[0]._default = limits.spec.limits[0].default;
    expect(unknownCoreFields(limits)).toEqual([
      '/spec/limits/0/_default is not a known field',
    ]);
  });
});

describe('every generated object', () => {
  const validate = createManifestValidator();
  const files = [
    ...renderGitopsObjects(renderContext(exampleSettings, exampleRequest), opts),
    ...renderNamespaceBundle(renderContext(exampleSettings, exampleRequest)).map(
      object => ({ path: `namespace bundle: ${object.kind} ${object.metadata.name}`, object }),
    ),
  ];

  it.each(files.map(f => [f.path, f.object]))(
    '%s is valid',
    (_path, object) => {
      expect(validate(object)).toEqual([]);
    },
  );

  it('is valid for every accepted input', () => {
    fc.assert(
      fc.property(
        settingsAndRequest,
        imageTag,
        ({ settings, request }, tag) => {
          const ctx = renderContext(settings, request);
          for (const { path: file, object } of [
            ...renderGitopsObjects(ctx, { imageTag: tag }),
            ...renderNamespaceBundle(ctx).map(o => ({ path: o.kind, object: o })),
          ]) {
            expect({ file, problems: validate(object) }).toEqual({
              file,
              problems: [],
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
