import { normaliseRepoUrl } from '@internal/plugin-golden-path-common';
import { assertServiceName } from './input';
import { PlatformSettings } from './types';

/**
 * Every name and URL derived from a service name. Other modules (actions,
 * catalog entity, rollback) read these instead of re-deriving them, so a
 * rename of any convention happens here only.
 */
export interface DerivedNames {
  /** GitLab project path of the app repository, `<appGroup>/<name>`. */
  appRepoPath: string;
  /** GitLab project path of the GitOps repository, `<gitopsGroup>/<name>-gitops`. */
  gitopsRepoPath: string;
  /** Kubernetes namespace of the service. */
  namespace: string;
  /** ECR repository name. */
  ecrRepository: string;
  /** Name of the per-app IAM policy that may push to and pull from ECR. */
  iamPolicyName: string;
  /** ServiceAccount the pods run as. */
  serviceAccount: string;
  /** Public host name, `<name>.<baseDomain>`. */
  host: string;
  /** ArgoCD AppProject name. */
  argocdProject: string;
  /** ArgoCD Application name: the service name, as catalog-info.yaml's `argocd/app-name` says. */
  argocdApplication: string;
  /** Clone URL of the app repository (ends in `.git`). */
  appRepoUrl: string;
  /** Clone URL of the GitOps repository (ends in `.git`); the AppProject's only source. */
  gitopsRepoUrl: string;
  /** Browser URL of the app repository. */
  appRepoWebUrl: string;
  /** Browser URL of the GitOps repository. */
  gitopsRepoWebUrl: string;
  /** Where the running service is served. */
  liveUrl: string;
  /** The Application's page in the ArgoCD UI. */
  argocdAppUrl: string;
}

/** Config may spell a host with a scheme or a trailing slash; URLs need the bare host. */
function bareHost(host: string): string {
  return host
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '');
}

/** Group paths may be configured with leading or trailing slashes. */
function groupPath(group: string): string {
  return group.trim().replace(/^\/+|\/+$/g, '');
}

/** Name of the per-app IAM policy (at most 58 characters, IAM allows 128). */
export function ecrPolicyName(name: string): string {
  return `idp-${name}-ecr-push-pull`;
}

/**
 * Derives every name and URL for service `name`. Throws InputError when the
 * name breaks the service-name rule or is reserved on this platform.
 */
export function deriveNames(
  settings: PlatformSettings,
  name: string,
): DerivedNames {
  assertServiceName(name, settings);
  const gitlab = settings.gitlabBaseUrl
    ? settings.gitlabBaseUrl.trim().replace(/\/+$/, '')
    : `https://${bareHost(settings.gitlabHost)}`;
  const appRepoPath = `${groupPath(settings.appGroup)}/${name}`;
  const gitopsRepoPath = `${groupPath(settings.gitopsGroup)}/${name}-gitops`;
  const host = `${name}.${settings.baseDomain
    .trim()
    .replace(/^\.+|\.+$/g, '')}`;
  const argocdApplication = name;
  const argocdUrl = settings.argocdUrl.trim().replace(/\/+$/, '');
  return {
    appRepoPath,
    gitopsRepoPath,
    namespace: name,
    ecrRepository: name,
    iamPolicyName: ecrPolicyName(name),
    serviceAccount: name,
    host,
    argocdProject: name,
    argocdApplication,
    appRepoUrl: normaliseRepoUrl(`${gitlab}/${appRepoPath}`),
    gitopsRepoUrl: normaliseRepoUrl(`${gitlab}/${gitopsRepoPath}`),
    appRepoWebUrl: `${gitlab}/${appRepoPath}`,
    gitopsRepoWebUrl: `${gitlab}/${gitopsRepoPath}`,
    liveUrl: `https://${host}`,
    argocdAppUrl: `${argocdUrl}/applications/${settings.argocdNamespace}/${argocdApplication}`,
  };
}
