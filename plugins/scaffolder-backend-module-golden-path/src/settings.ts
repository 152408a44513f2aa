import { Config } from '@backstage/config';
import { PlatformSettings } from './render/types';

/**
 * Reads the platform settings from the `goldenPath` config section once, at
 * startup. Required keys are checked by the config validator (production);
 * locally, missing keys fail here with the key's name.
 */
export function readPlatformSettings(config: Config): PlatformSettings {
  const gp = config.getConfig('goldenPath');
  const accountId = gp.getString('aws.accountId');
  const region = gp.getString('aws.region');
  const apiBaseUrl = gp.getOptionalString('gitlab.apiBaseUrl');
  return {
    gitlabHost: gp.getString('gitlab.host'),
    gitlabBaseUrl: apiBaseUrl?.replace(/\/api\/v4\/?$/, ''),
    appGroup: gp.getString('gitlab.appGroup'),
    gitopsGroup: gp.getString('gitlab.gitopsGroup'),
    awsAccountId: accountId,
    awsRegion: region,
    ecrRegistry:
      gp.getOptionalString('aws.ecrRegistry') ??
      `${accountId}.dkr.ecr.${region}.amazonaws.com`,
    argocdUrl: gp.getString('argocd.url'),
    argocdNamespace: gp.getOptionalString('argocd.namespace') ?? 'argocd',
    clusterServer:
      gp.getOptionalString('kubernetes.argocdClusterServer') ??
      'https://kubernetes.default.svc',
    clusterName: gp.getOptionalString('kubernetes.clusterName') ?? 'default',
    baseDomain: gp.getString('baseDomain'),
    certificateArn: gp.getString('ingress.certificateArn'),
    albGroupName: gp.getString('ingress.albGroupName'),
    loadBalancerSourceCidrs:
      gp.getOptionalStringArray('ingress.loadBalancerSourceCidrs') ?? [],
    secretStoreName: gp.getOptionalString('secretStoreName') ?? 'aws-secrets-manager',
    monitoringNamespace: gp.getOptionalString('monitoringNamespace') ?? 'monitoring',
  };
}
