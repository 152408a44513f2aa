import fs from 'node:fs';
import path from 'node:path';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';
import { DRY_RUN_GITOPS_FOLDER, DRY_RUN_PLAN_FILE } from './platformServiceProvision';

describe('idp:platform:service:provision', () => {
  it('runs its examples: every resource, its outputs, and one log line per change', async () => {
    const h = goldenPathHarness();
    expect(await h.runExamples('idp:platform:service:provision', false)).toBe(1);
    expect(h.world.resourcesFor('payments-api')).toEqual(
      expect.arrayContaining([
        'gitlab:apps/payments-api',
        'gitlab:platform/gitops/payments-api-gitops',
        'ecr:payments-api',
        'argocd-project:payments-api',
        'k8s:Namespace//payments-api',
      ]),
    );
    expect(h.outputs['idp:platform:service:provision.namespace']).toBe('payments-api');
    expect(h.outputs['idp:platform:service:provision.resources']).toEqual(
      expect.arrayContaining(['AWS ECR repository: payments-api', 'ArgoCD Application: payments-api']),
    );
    const log = h.logged();
    for (const line of [
      'Created GitLab project apps/payments-api',
      'Created ECR repository payments-api',
      'Created IAM policy idp-payments-api-ecr-push-pull',
      'Created ArgoCD project payments-api',
      'Created ArgoCD application payments-api',
      'Created Kubernetes namespace payments-api and its guard rails',
      'Created IAM role idp-payments-api-ci',
      'Created IAM role idp-payments-api-secrets',
    ]) {
      expect(log).toContain(line);
    }
    expect(log.some(l => /^Pushed \d+ files to apps\/payments-api in commit \S+$/.test(l))).toBe(true);
    h.cleanup();
  });

  it('shows the whole plan in a dry run: the GitOps repository and every resource, in the workspace', async () => {
    const h = goldenPathHarness();
    await h.runExamples('idp:platform:service:provision', true);
    expect(h.world.calls).toEqual([]);
    const plan = fs.readFileSync(path.join(h.workspace, DRY_RUN_PLAN_FILE), 'utf8');
    expect(plan).toContain('| GitLab | project (app repository) | apps/payments-api |');
    expect(plan).toContain('| Kubernetes | NetworkPolicy | payments-api/payments-api-default-deny |');
    expect(
      fs.existsSync(path.join(h.workspace, DRY_RUN_GITOPS_FOLDER, 'manifests/deployment.yaml')),
    ).toBe(true);
    h.cleanup();
  });

  it('refuses an invalid runtime block naming each field, before anything is created', async () => {
    const h = goldenPathHarness();
    await expect(
      h.runStep(
        'idp:platform:service:provision',
        {
          name: 'payments-api',
          owner: 'group:default/a',
          sourcePath: 'app',
          runtime: { healthPath: 'health', resources: { limits: { memory: '256MB' } }, env: { PORT: '1' } },
        },
        't',
      ),
    ).rejects.toThrow(
      /runtime.healthPath "health" must be an absolute URL path.*runtime.env.PORT is set by the platform.*runtime.resources.limits.memory "256MB" must be a memory quantity/,
    );
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });
});
