import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  scaffolderActionsExtensionPoint,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import { scaffolderModuleGoldenPath } from './module';

/** The local app-config's goldenPath section, trimmed to what the module reads. */
const config = {
  integrations: { gitlab: [{ host: 'gitlab.test', apiBaseUrl: 'https://gitlab.test/api/v4', token: 'canary-config-gitlab-token' }] },
  goldenPath: {
    permissions: {
      roles: { platformAdmins: ['group:default/platform-admins'], developers: 'all-group-members' },
    },
    gitlab: { host: 'gitlab.test', appGroup: 'apps', gitopsGroup: 'platform/gitops' },
    aws: { accountId: '123456789012', region: 'eu-west-1', ecrRegistry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' },
    argocd: { url: 'https://argocd.test', token: 'canary-config-argocd-token' },
    kubernetes: { url: 'https://k8s.test', token: 'canary-config-k8s-token' },
    baseDomain: 'apps.test',
    ingress: {
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
      albGroupName: 'shared',
      loadBalancerSourceCidrs: ['10.0.0.0/16'],
    },
  },
};

describe('scaffolderModuleGoldenPath', () => {
  it('registers every golden-path action with the scaffolder', async () => {
    const registered: TemplateAction<any, any, any>[] = [];
    // A stand-in scaffolder plugin that owns the extension point, so the
    // module is wired exactly as in the real backend.
    const fakeScaffolder = createBackendPlugin({
      pluginId: 'scaffolder',
      register(env) {
        env.registerExtensionPoint(scaffolderActionsExtensionPoint, {
          addActions: (...actions) => registered.push(...actions),
        });
        env.registerInit({ deps: {}, async init() {} });
      },
    });

    await startTestBackend({
      features: [
        fakeScaffolder,
        scaffolderModuleGoldenPath,
        mockServices.rootConfig.factory({ data: config }),
        catalogServiceMock.factory(),
      ],
    });

    expect(registered.map(a => a.id).sort()).toEqual([
      'idp:argocd:application:ensure',
      'idp:aws:ecr:ensure',
      'idp:catalog:entity:register',
      'idp:gitlab:repositories:ensure',
      'idp:kubernetes:bundle:apply',
      'idp:platform:name:check',
      'idp:platform:name:validate',
      'idp:platform:service:decommission',
      'idp:platform:service:provision',
      'idp:platform:service:upgrade',
      'idp:platform:settings:read',
    ]);
    for (const action of registered) {
      expect(action.description).toBeTruthy();
      expect(action.examples?.length).toBeGreaterThan(0);
      expect(action.supportsDryRun).toBe(true);
    }
  });
});
