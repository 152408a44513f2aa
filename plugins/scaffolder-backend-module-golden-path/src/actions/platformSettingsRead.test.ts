import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

describe('idp:platform:settings:read', () => {
  it('runs its examples and outputs the non-secret settings a skeleton needs', async () => {
    const h = goldenPathHarness(undefined, undefined, { settings: exampleSettings });
    expect(await h.runExamples('idp:platform:settings:read', false)).toBe(1);
    expect(h.outputs).toEqual({
      'idp:platform:settings:read.gitlabHost': 'gitlab.example.com',
      'idp:platform:settings:read.appGroup': 'apps',
      'idp:platform:settings:read.gitopsGroup': 'platform/gitops',
      'idp:platform:settings:read.ecrRegistry': exampleSettings.ecrRegistry,
      'idp:platform:settings:read.awsRegion': 'eu-west-1',
      'idp:platform:settings:read.baseDomain': 'apps.example.com',
      'idp:platform:settings:read.argocdUrl': 'https://argocd.example.com',
      'idp:platform:settings:read.clusterName': exampleSettings.clusterName,
      'idp:platform:settings:read.grafanaUrl': '',
    });
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });

  it("outputs Grafana's URL when the platform has one", async () => {
    const h = goldenPathHarness(undefined, undefined, {
      settings: { ...exampleSettings, grafanaBaseUrl: 'https://grafana.example.com' },
    });
    await h.runExamples('idp:platform:settings:read', false);
    expect(h.outputs['idp:platform:settings:read.grafanaUrl']).toBe(
      'https://grafana.example.com',
    );
    h.cleanup();
  });
});
