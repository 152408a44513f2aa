import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => (await import('./SignInPage')).GoldenPathSignInPage,
  },
});

/** The sign-in page: guest locally, GitHub in production. */
export const authModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage],
});
