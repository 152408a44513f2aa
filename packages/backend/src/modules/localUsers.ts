import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthProviderFactory,
  createProxyAuthenticator,
} from '@backstage/plugin-auth-node';

/**
 * Local development only: sign in as one of the example org's users by
 * name, `GET /api/auth/localUsers/refresh?user=user:default/bob`, so scripts
 * and tests can act as a developer of another team or as a platform admin
 * against one backend. Refused outside NODE_ENV=development, refused for any
 * user not listed in `auth.providers.localUsers.users`, and refused by the
 * config validator in production. The portal's sign-in page keeps using the
 * guest provider.
 */
export const authModuleLocalUsersProvider = createBackendModule({
  pluginId: 'auth',
  moduleId: 'local-users-provider',
  register(reg) {
    reg.registerInit({
      deps: {
        providers: authProvidersExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ providers, config }) {
        const users =
          config.getOptionalStringArray('auth.providers.localUsers.users') ??
          [];
        providers.registerProvider({
          providerId: 'localUsers',
          factory: createProxyAuthProviderFactory({
            authenticator: createProxyAuthenticator({
              defaultProfileTransform: async () => ({ profile: {} }),
              initialize: () => undefined,
              async authenticate({ req }) {
                if (process.env.NODE_ENV !== 'development') {
                  throw new NotAllowedError(
                    'The localUsers sign-in exists for local development only',
                  );
                }
                const user = String(req.query.user ?? '');
                if (!users.includes(user)) {
                  throw new NotAllowedError(
                    `"${user}" is not one of the local users (auth.providers.localUsers.users): ${users.join(', ')}`,
                  );
                }
                return { result: { userEntityRef: user } };
              },
            }),
            signInResolver: async ({ result }, ctx) =>
              ctx.signInWithCatalogUser({ entityRef: result.userEntityRef }),
          }),
        });
      },
    });
  },
});
