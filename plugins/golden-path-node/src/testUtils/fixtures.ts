/**
 * Example platform settings and requests for tests.
 *
 * Test-only module: never import it from production code.
 */
import { ServiceRequest } from '@internal/plugin-golden-path-common';
import { PlatformSettings } from '../config';

/** Settings shaped like a real `goldenPath` config section. */
export const exampleSettings: PlatformSettings = {
  gitlabHost: 'gitlab.example.com',
  appGroup: 'apps',
  gitopsGroup: 'platform/gitops',
  awsAccountId: '123456789012',
  awsRegion: 'eu-west-1',
  ecrRegistry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  argocdUrl: 'https://argocd.example.com',
  argocdNamespace: 'argocd',
  clusterServer: 'https://kubernetes.default.svc',
  clusterName: 'prod-eu-west-1',
  baseDomain: 'apps.example.com',
  certificateArn:
    'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
  albGroupName: 'idp-shared',
  secretStoreName: 'aws-secrets-manager',
  monitoringNamespace: 'monitoring',
  loadBalancerSourceCidrs: ['10.0.0.0/20', '10.0.16.0/20'],
  reservedHosts: ['www', 'api', 'portal', 'argocd', 'grafana'],
  vpcCidr: '10.0.0.0/16',
  egressAllowedCidrs: [],
  ciAuth: 'oidc',
  gitlabOidcAudience: 'https://gitlab.example.com',
  permissionsBoundaryName: 'idp-permissions-boundary',
  clusterOidcProvider: 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
  secrets: { provider: 'aws', prefix: 'idp' },
};

/** A typical request from the Create form. */
export const exampleRequest: ServiceRequest = {
  name: 'payments-api',
  owner: 'group:default/team-payments',
  description: 'Takes payments: cards, "wallets" & more #fast',
  port: 3000,
  replicas: 2,
};

/** The image tag used by examples. */
export const exampleImageTag = '0.1.0';
