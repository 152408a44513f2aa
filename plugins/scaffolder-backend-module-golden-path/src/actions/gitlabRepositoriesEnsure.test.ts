import fs from 'node:fs';
import path from 'node:path';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:gitlab:repositories:ensure', () => {
  it('runs its examples: both projects, one commit each, the deploy token as a masked, hidden variable', async () => {
    const h = goldenPathHarness();
    expect(await h.runExamples('idp:gitlab:repositories:ensure', false)).toBe(1);
    const app = h.world.projects.get('apps/payments-api')!;
    const gitops = h.world.projects.get('platform/gitops/payments-api-gitops')!;
    expect([...app.files.keys()]).toEqual(expect.arrayContaining(['catalog-info.yaml', 'src/index.js']));
    expect([...gitops.files.keys()]).toEqual(expect.arrayContaining(['manifests/deployment.yaml', 'argocd/application.yaml']));
    expect(app.protected.has('main') && gitops.protected.has('main')).toBe(true);
    expect(app.variables.has('GITOPS_DEPLOY_TOKEN')).toBe(true);
    expect(
      h.logged().some(l =>
        /^Set masked, hidden variable GITOPS_DEPLOY_TOKEN on apps\/payments-api \(token \d+, expires \d{4}-\d{2}-\d{2}\)$/.test(l),
      ),
    ).toBe(true);
    h.cleanup();
  });

  it('pushes binary files byte-exact and keeps executable bits', async () => {
    const h = goldenPathHarness();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    fs.writeFileSync(path.join(h.workspace, 'app/logo.png'), png);
    fs.writeFileSync(path.join(h.workspace, 'app/run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    const sent: any[] = [];
    const commit = h.world.gitlab.commitFiles;
    (h.world.gitlab as any).commitFiles = (id: number, opts: any) => {
      sent.push(...opts.files);
      return commit(id, opts);
    };
    await h.runExamples('idp:gitlab:repositories:ensure', false);
    const logo = sent.find(f => f.path === 'logo.png');
    expect(logo).toMatchObject({ encoding: 'base64' });
    expect(Buffer.from(logo.content, 'base64')).toEqual(png);
    expect(sent.find(f => f.path === 'run.sh')).toMatchObject({ executable: true, encoding: 'text' });
    expect(sent.find(f => f.path === 'src/index.js').executable).toBeUndefined();
    h.cleanup();
  });

  it('refuses a workspace without the rendered skeleton, before anything is created', async () => {
    const h = goldenPathHarness();
    await expect(
      h.runStep('idp:gitlab:repositories:ensure', { name: 'payments-api', owner: 'group:default/a', sourcePath: 'missing' }, 't'),
    ).rejects.toThrow('The rendered skeleton has no catalog-info.yaml');
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });
});
