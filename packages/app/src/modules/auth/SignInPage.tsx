import { SignInPage as CoreSignInPage } from '@backstage/core-components';
import {
  configApiRef,
  githubAuthApiRef,
  useApi,
} from '@backstage/frontend-plugin-api';
import { SignInPageProps } from '@backstage/core-plugin-api';
import { oidcAuthApiRef } from './oidc';

const oidcProvider = {
  id: 'oidc-auth-provider',
  title: 'Single sign-on',
  message: 'Sign in with your organisation account',
  apiRef: oidcAuthApiRef,
};

const githubProvider = {
  id: 'github-auth-provider',
  title: 'GitHub',
  message: 'Sign in with your GitHub account',
  apiRef: githubAuthApiRef,
};

/**
 * GitHub or single sign-on (OIDC, e.g. Keycloak) in production, guest
 * locally: `goldenPath.signIn` (a frontend-visible key, checked by the config
 * validator) decides which provider is offered.
 */
export function GoldenPathSignInPage(props: SignInPageProps) {
  const signIn = useApi(configApiRef).getOptionalString('goldenPath.signIn');
  if (signIn === 'github') {
    return <CoreSignInPage {...props} provider={githubProvider} />;
  }
  if (signIn === 'oidc') {
    return <CoreSignInPage {...props} provider={oidcProvider} />;
  }
  return <CoreSignInPage {...props} auto providers={['guest']} />;
}
