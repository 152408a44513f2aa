/**
 * Local stand-ins for GitLab, ArgoCD, ECR/IAM and Kubernetes.
 *
 * @packageDocumentation
 */
import { argocdFake } from './argocd';
import { awsFake } from './aws';
import { gitlabFake } from './gitlab';
import { kubernetesFake } from './kubernetes';
import { RunningSandbox, SandboxOptions, startSandbox } from './server';

export { startSandbox, DEFAULT_PORTS } from './server';
export type { RunningSandbox, SandboxEnv, SandboxFake, SandboxOptions, SeedService } from './server';
export { Faults } from './faults';
export type { FaultRule, HungRequest, SandboxService, TraceEntry } from './faults';
export { GitRepos } from './git';
export { Store, Collection, KeyedMutex } from './store';

/** Starts the sandbox with all four fakes. */
export function startDefaultSandbox(
  options: Omit<SandboxOptions, 'fakes'>,
): Promise<RunningSandbox> {
  return startSandbox({
    ...options,
    fakes: {
      gitlab: gitlabFake,
      argocd: argocdFake,
      aws: awsFake,
      kubernetes: kubernetesFake,
    },
  });
}
export { GITLAB_OPERATIONS } from './gitlab';
export { ARGOCD_OPERATIONS } from './argocd';
export { AWS_OPERATIONS, SANDBOX_CLUSTER_OIDC_ISSUER } from './aws';
export { KUBERNETES_OPERATIONS } from './kubernetes';
