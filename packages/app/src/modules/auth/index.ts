import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { oidcAuthApi } from './oidc';

const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => (await import('./SignInPage')).GoldenPathSignInPage,
  },
});

/** The sign-in page: guest locally; GitHub or single sign-on (OIDC) in production. */
export const authModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage, oidcAuthApi],
});
