/**
 * Platform settings that every render function needs, read once from the
 * `goldenPath` config section (see config.d.ts).
 */
export interface PlatformSettings {
  /** Host of the GitLab instance, e.g. `gitlab.example.com`. */
  gitlabHost: string;
  /**
   * Browser/clone base URL of GitLab when it is not `https://<gitlabHost>`
   * (the local sandbox serves plain HTTP on a port).
   */
  gitlabBaseUrl?: string;
  /** Full path of the group that holds app repositories, e.g. `apps`. */
  appGroup: string;
  /** Full path of the platform group that holds GitOps repositories. */
  gitopsGroup: string;
  /** 12-digit AWS account id. */
  awsAccountId: string;
  /** AWS region, e.g. `eu-west-1`. */
  awsRegion: string;
  /** ECR registry host, `<account>.dkr.ecr.<region>.amazonaws.com`. */
  ecrRegistry: string;
  /** ArgoCD UI/API base URL, e.g. `https://argocd.example.com`. */
  argocdUrl: string;
  /** Namespace ArgoCD runs in (AppProject/Application live there). */
  argocdNamespace: string;
  /** Kubernetes API server URL of the destination cluster as ArgoCD knows it. */
  clusterServer: string;
  /** Name of the cluster for the Backstage Kubernetes annotations. */
  clusterName: string;
  /** Base domain; a service is served at `<name>.<baseDomain>`. */
  baseDomain: string;
  /** ACM certificate ARN for the shared ALB listener. */
  certificateArn: string;
  /** Shared ALB ingress group (`alb.ingress.kubernetes.io/group.name`). */
  albGroupName: string;
  /** Name of the ClusterSecretStore that ExternalSecrets read from. */
  secretStoreName: string;
  /** Namespace Prometheus runs in (allowed to scrape `/metrics`). */
  monitoringNamespace: string;
  /**
   * CIDRs the shared ALB sends traffic from (the VPC subnets, IP target
   * mode); the only sources allowed to reach the app port.
   */
  loadBalancerSourceCidrs: string[];
}

/** What the developer entered in the Create form. */
export interface ServiceRequest {
  /** Service name; satisfies SERVICE_NAME_PATTERN. */
  name: string;
  /** Owner entity ref, e.g. `group:default/team-a`. */
  owner: string;
  /** Free-text description (may contain any characters). */
  description: string;
  /** Container port the app listens on. Default 3000. */
  port: number;
  /** Replica count. Default 2. */
  replicas: number;
}
