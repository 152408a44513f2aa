import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { PlatformSettings } from '../render/types';
import { examples } from './platformSettingsRead.examples';

/**
 * Hands the platform settings a skeleton needs (hosts, groups, registry) to
 * the template, so template authors never hard-code them. No secrets.
 */
export function createPlatformSettingsReadAction(opts: {
  settings: PlatformSettings;
}) {
  return createTemplateAction({
    id: 'idp:platform:settings:read',
    description:
      'Outputs the non-secret platform settings a skeleton needs: GitLab host and groups, ECR registry, base domain, ArgoCD URL, cluster name and Grafana URL.',
    examples,
    supportsDryRun: true,
    schema: {
      output: {
        gitlabHost: z => z.string().describe('GitLab host'),
        appGroup: z => z.string().describe('GitLab group of app repositories'),
        gitopsGroup: z =>
          z.string().describe('GitLab group of GitOps repositories'),
        ecrRegistry: z => z.string().describe('ECR registry host'),
        awsRegion: z => z.string().describe('AWS region'),
        baseDomain: z => z.string().describe('Base domain of service hosts'),
        argocdUrl: z => z.string().describe('ArgoCD URL'),
        clusterName: z => z.string().describe('Kubernetes cluster name'),
        grafanaUrl: z =>
          z
            .string()
            .describe(
              "Grafana's URL (a service's dashboard is <grafanaUrl>/d/<name>); empty when the platform has none",
            ),
      },
    },
    async handler(ctx) {
      const s = opts.settings;
      ctx.output('gitlabHost', s.gitlabHost);
      ctx.output('appGroup', s.appGroup);
      ctx.output('gitopsGroup', s.gitopsGroup);
      ctx.output('ecrRegistry', s.ecrRegistry);
      ctx.output('awsRegion', s.awsRegion);
      ctx.output('baseDomain', s.baseDomain);
      ctx.output('argocdUrl', s.argocdUrl);
      ctx.output('clusterName', s.clusterName);
      // Always set, so templates can test it: '' is "no Grafana".
      ctx.output('grafanaUrl', s.grafanaBaseUrl ?? '');
    },
  });
}
