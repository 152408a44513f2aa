import { renderContext } from './context';
import fc from 'fast-check';
import { imageTag, settingsAndRequest } from '../__testUtils__/arbitraries';
import {
  exampleImageTag,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import {
  APP_NAMESPACED_KINDS,
  GUARD_RAIL_KINDS,
  renderApplication,
  renderAppProject,
} from './argocd';
import {
  escapeMarkdown,
  renderGitopsObjects,
  renderGitopsRepository,
} from './gitops';
import { toWellFormed } from './input';
import { DESCRIPTION_ANNOTATION, OWNER_ANNOTATION } from './labels';
import { fromYaml } from './yaml';

const opts = { imageTag: exampleImageTag };
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('GitOps repository layout', () => {
  const files = renderGitopsRepository(renderContext(exampleSettings, exampleRequest), opts);
  const paths = files.map(f => f.path);
  const byPath = (p: string) => files.find(f => f.path === p)!;

  it('has exactly the agreed files', () => {
    expect(paths).toEqual([
      'README.md',
      'manifests/externalsecret.yaml',
      'manifests/deployment.yaml',
      'manifests/service.yaml',
      'manifests/ingress.yaml',
      'manifests/servicemonitor.yaml',
      'manifests/grafana-dashboard.yaml',
      'argocd/appproject.yaml',
      'argocd/application.yaml',
    ]);
  });

  it('puts exactly one object in each YAML file', () => {
    for (const file of files.filter(f => f.path.endsWith('.yaml'))) {
      expect(file.content).not.toMatch(/^---/m);
      expect(fromYaml(file.content)).toHaveProperty('kind');
    }
  });

  it.each([
    ['manifests/deployment.yaml', 'Deployment'],
    ['manifests/externalsecret.yaml', 'ExternalSecret'],
    ['argocd/appproject.yaml', 'AppProject'],
    ['argocd/application.yaml', 'Application'],
  ])('%s holds the %s', (file, kind) => {
    expect((fromYaml(byPath(file).content) as { kind: string }).kind).toBe(
      kind,
    );
  });

  it('holds no guard rail: those are the platform\'s, applied directly', () => {
    const kinds = files
      .filter(f => f.path.startsWith('manifests/'))
      .map(f => (fromYaml(f.content) as { kind: string }).kind);
    for (const { kind } of GUARD_RAIL_KINDS) expect(kinds).not.toContain(kind);
    expect(new Set(kinds)).toEqual(
      new Set(APP_NAMESPACED_KINDS.map(k => k.kind)),
    );
  });

  it('holds only workload kinds for every accepted input', () => {
    fc.assert(
      fc.property(settingsAndRequest, ({ settings, request }) => {
        const kinds = renderGitopsObjects(renderContext(settings, request), opts)
          .filter(f => f.path.startsWith('manifests/'))
          .map(f => f.object.kind);
        expect(
          kinds.filter(k => !APP_NAMESPACED_KINDS.some(w => w.kind === k)),
        ).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('points the Application at the manifests folder', () => {
    expect(
      renderApplication(renderContext(exampleSettings, exampleRequest)).spec.source.path,
    ).toBe('manifests');
  });

  it('keeps the ArgoCD objects out of the synced folder', () => {
    const synced = renderGitopsObjects(renderContext(exampleSettings, exampleRequest),
      opts,
    ).filter(f => f.path.startsWith('manifests/'));
    expect(synced.map(f => f.object.apiVersion)).not.toContain(
      'argoproj.io/v1alpha1',
    );
  });
});

describe('image line', () => {
  const imageLines = (
    settings: typeof exampleSettings,
    name: string,
    tag: string,
  ) => {
    const content = renderGitopsRepository(renderContext(settings, { ...exampleRequest, name }),
      { imageTag: tag },
    ).find(f => f.path === 'manifests/deployment.yaml')!.content;
    const line = new RegExp(
      `^\\s+image: ${escapeRegExp(settings.ecrRegistry)}/${escapeRegExp(
        name,
      )}:${escapeRegExp(tag)}$`,
      'gm',
    );
    return content.match(line) ?? [];
  };

  it('appears exactly once in deployment.yaml, unquoted, for CI to rewrite', () => {
    expect(imageLines(exampleSettings, 'payments-api', '0.1.0')).toHaveLength(
      1,
    );
  });

  it('appears exactly once for every accepted input', () => {
    fc.assert(
      fc.property(
        settingsAndRequest,
        imageTag,
        ({ settings, request }, tag) => {
          expect(imageLines(settings, request.name, tag)).toHaveLength(1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is the only line a sed on the tag would change', () => {
    const content = renderGitopsRepository(renderContext(exampleSettings, exampleRequest),
      opts,
    ).find(f => f.path === 'manifests/deployment.yaml')!.content;
    expect(
      content
        .split('\n')
        .filter(l => l.includes('amazonaws.com/payments-api:')),
    ).toHaveLength(1);
  });
});

describe('serialisation', () => {
  it('reads every YAML file back as exactly the rendered object', () => {
    fc.assert(
      fc.property(
        settingsAndRequest,
        imageTag,
        ({ settings, request }, tag) => {
          const objects = renderGitopsObjects(renderContext(settings, request), {
            imageTag: tag,
          });
          const files = renderGitopsRepository(renderContext(settings, request), {
            imageTag: tag,
          }).filter(f => f.path.endsWith('.yaml'));
          expect(files.map(f => f.path)).toEqual(objects.map(o => o.path));
          files.forEach((file, i) => {
            for (const version of ['1.1', '1.2'] as const) {
              expect(fromYaml(file.content, version)).toStrictEqual(
                objects[i].object,
              );
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps owner and description exactly as entered through YAML', () => {
    fc.assert(
      fc.property(settingsAndRequest, ({ settings, request }) => {
        const files = renderGitopsRepository(renderContext(settings, request), {
          imageTag: '1',
        });
        for (const path of [
          'manifests/deployment.yaml',
          'argocd/application.yaml',
        ]) {
          const content = files.find(f => f.path === path)!.content;
          const annotations = (fromYaml(content, '1.1') as any).metadata
            .annotations;
          expect(annotations[OWNER_ANNOTATION]).toBe(
            toWellFormed(request.owner),
          );
          expect(annotations[DESCRIPTION_ANNOTATION]).toBe(
            toWellFormed(request.description),
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(
        settingsAndRequest,
        imageTag,
        ({ settings, request }, tag) => {
          const first = renderGitopsRepository(renderContext(settings, request), {
            imageTag: tag,
          });
          const second = renderGitopsRepository(renderContext(JSON.parse(JSON.stringify(settings)), JSON.parse(JSON.stringify(request))),
            { imageTag: tag },
          );
          expect(second).toStrictEqual(first);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not modify its input', () => {
    fc.assert(
      fc.property(settingsAndRequest, ({ settings, request }) => {
        const before = JSON.parse(JSON.stringify({ settings, request }));
        renderGitopsRepository(renderContext(settings, request), { imageTag: '1' });
        renderAppProject(renderContext(settings, request));
        // toEqual: fast-check may build records without a prototype.
        expect({ settings, request }).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });
});

describe('README', () => {
  const readme = (request = exampleRequest) =>
    renderGitopsRepository(renderContext(exampleSettings, request), opts).find(
      f => f.path === 'README.md',
    )!.content;

  it('says where the secrets live and what the repository cannot change', () => {
    expect(readme()).toContain('`idp/payments-api/`');
    expect(readme()).toContain('## What this repository cannot change');
  });

  it.each([
    'https://payments-api.apps.example.com',
    'https://argocd.example.com/applications/argocd/payments-api',
    'https://gitlab.example.com/apps/payments-api',
  ])('links %s', link => {
    expect(readme()).toContain(link);
  });

  it('keeps a hostile description inside its quote block', () => {
    const text = readme({
      ...exampleRequest,
      description: 'ok\n# Heading\n<script>x</script>',
    });
    expect(text).toContain('> ok\n> \\# Heading\n> \\<script\\>x\\</script\\>');
    expect(text).not.toMatch(/^# Heading/m);
  });

  it.each([
    ['[x](javascript:alert(1))', '\\[x\\](javascript:alert(1))'],
    ['**bold**', '\\*\\*bold\\*\\*'],
    ['- item', '\\- item'],
    ['1. item', '1\\. item'],
    ['a & b', 'a \\& b'],
  ])('escapes %p as %p', (input, expected) => {
    expect(escapeMarkdown(input)).toBe(expected);
  });
});
