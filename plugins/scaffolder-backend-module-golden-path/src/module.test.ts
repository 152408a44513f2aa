import { startTestBackend } from '@backstage/backend-test-utils';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import {
  scaffolderActionsExtensionPoint,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import { scaffolderModuleGoldenPath } from './module';

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
      features: [fakeScaffolder, scaffolderModuleGoldenPath],
    });

    expect(registered.map(a => a.id).sort()).toEqual(['idp:name:validate']);
  });
});
