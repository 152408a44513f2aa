export interface Config {
  /**
   * Golden Path IDP platform settings: where new services are created.
   * Checked at startup by @internal/backend-module-config-validator.
   */
  goldenPath?: {
    /**
     * Marks a local portal (app-config.yaml). Without it the config
     * validator applies every production rule.
     */
    local?: boolean;

    /**
     * Which sign-in the portal offers: `guest` locally, `github` or `oidc`
     * (e.g. Keycloak) in production.
     * @visibility frontend
     */
    signIn?: 'guest' | 'github' | 'oidc';

    /** Who may do what in the portal. */
    permissions?: {
      /**
       * The roles (platform admins, developers) by catalog group; usually
       * `$include: ./roles.yaml`.
       */
      roles?: {
        platformAdmins?: string[];
        developers?: string | string[];
      };
    };

    /** How runs are journaled and cleaned up. */
    runs?: {
      /** How long a process holds a run without renewing its lease. Default 60. */
      leaseSeconds?: number;
      /** The janitor: finishes what crashed, cancelled or abandoned runs left behind. */
      janitor?: {
        /** Default true. */
        enabled?: boolean;
        /** How often it looks, in seconds. Default 300. */
        intervalSeconds?: number;
        /** A run whose task ended and that made no progress for this long is rolled back. Default 10. */
        abandonedAfterMinutes?: number;
      };
    };

    /** Decommission (`idp:platform:service:decommission`). */
    decommission?: {
      /**
       * What happens to the service's two GitLab repositories, which are
       * never deleted at once. `archive` (default): archived (read-only),
       * kept until someone deletes them. `delete`: archived and scheduled for
       * GitLab's delayed deletion; GitLab removes them after the instance's
       * deletion retention period and they can be restored until then.
       */
      repositories?: 'archive' | 'delete';
    };

    /**
     * GitLab. The connection (apiBaseUrl, baseUrl, token) is Backstage's own
     * `integrations.gitlab[]` entry for this host.
     */
    gitlab?: {
      /** Host of the GitLab instance, e.g. gitlab.example.com. Env: GITLAB_HOST. */
      host?: string;
      /** Full path of the group that holds app repositories. Env: GITLAB_APP_GROUP. */
      appGroup?: string;
      /** Full path of the platform group that holds GitOps repositories. Env: GITLAB_GITOPS_GROUP. */
      gitopsGroup?: string;
      /**
       * Days a service's GitOps write token lives (1-365, default 90). It is
       * rotated by running the token step again (upgrade), which revokes the
       * previous one.
       */
      gitopsTokenDays?: number;
    };

    /** AWS account that hosts the ECR repositories and per-app IAM policies. */
    aws?: {
      /** 12-digit account id. Env: AWS_ACCOUNT_ID. */
      accountId?: string;
      /** Region, e.g. eu-west-1. Env: AWS_REGION. */
      region?: string;
      /** ECR registry host, <account>.dkr.ecr.<region>.amazonaws.com. Env: ECR_REGISTRY. */
      ecrRegistry?: string;
      /** Endpoint override for ECR and IAM (local sandbox only). */
      endpoint?: string;
      /**
       * How CI reaches ECR. `oidc` (default): GitLab's ID token assumes a role
       * per service that trusts only the app project's default branch; no key
       * exists. `static-key`: an IAM user and an access key in masked, hidden
       * CI/CD variables. Env: CI_AUTH.
       */
      ciAuth?: 'oidc' | 'static-key';
      /** Audience of GitLab's ID token for AWS (the GitLab OIDC provider's client id). Default https://<gitlab host>. */
      gitlabOidcAudience?: string;
      /** Permissions boundary on every IAM role and user the platform makes. Default idp-permissions-boundary. */
      permissionsBoundaryName?: string;
    };

    /** ArgoCD instance that deploys the GitOps repositories. */
    argocd?: {
      /** Base URL of the ArgoCD UI and API. Env: ARGOCD_URL. */
      url?: string;
      /**
       * API token of an ArgoCD account allowed to manage projects and applications. Env: ARGOCD_TOKEN.
       * @visibility secret
       */
      token?: string;
      /** Namespace ArgoCD runs in. Default argocd. */
      namespace?: string;
      /** Retry of transient ArgoCD failures (5xx, timeouts, "repository not found" while GitLab catches up). */
      retry?: {
        /** Default 8. */
        maxAttempts?: number;
        /** First backoff in ms, doubled per attempt, with full jitter. Default 500. */
        baseDelayMs?: number;
        /** Longest single backoff in ms. Default 10000. */
        maxDelayMs?: number;
        /** Give up after this many ms in total. Default 120000. */
        maxTotalMs?: number;
      };
      /** Timeout of each ArgoCD request in ms. Default 30000. */
      requestTimeoutMs?: number;
      /**
       * The push webhook Create adds to each GitOps repository so ArgoCD
       * deploys a new commit at once instead of at its next poll (3 min by
       * default). `false`: no webhook, ArgoCD polls.
       */
      webhook?:
        | false
        | {
            /** Where GitLab reaches ArgoCD's webhook. Default <url>/api/webhook. */
            url?: string;
            /**
             * ArgoCD's `webhook.gitlab.secret` (sent as X-Gitlab-Token). Env: ARGOCD_WEBHOOK_SECRET.
             * @visibility secret
             */
            secret?: string;
          };
    };

    /** Kubernetes cluster the services run in. */
    kubernetes?: {
      /** Cluster name shown in the catalog. Env: K8S_CLUSTER_NAME. */
      clusterName?: string;
      /** API server URL used to apply the namespace bundle. Env: K8S_API_URL. */
      url?: string;
      /**
       * Service-account token for the API server. Env: K8S_TOKEN.
       * @visibility secret
       */
      token?: string;
      /**
       * Base64 CA certificate of the API server. Env: K8S_CA_DATA.
       * @visibility secret
       */
      caData?: string;
      /** Skip TLS verification (local sandbox only). */
      skipTLSVerify?: boolean;
      /** The cluster's server URL as ArgoCD knows it. Default https://kubernetes.default.svc. */
      argocdClusterServer?: string;
      /**
       * The cluster's IAM OIDC provider (EKS IRSA), which each service's
       * SecretStore role trusts, e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC.
       * Required with the aws secrets provider. Env: K8S_OIDC_PROVIDER.
       */
      oidcProvider?: string;
    };

    /** Services are served at <name>.<baseDomain>. Env: BASE_DOMAIN. */
    baseDomain?: string;

    /** The shared AWS load balancer. */
    ingress?: {
      /** ACM certificate ARN for the HTTPS listener. Env: ACM_CERTIFICATE_ARN. */
      certificateArn?: string;
      /** Shared ALB ingress group name. Env: ALB_GROUP_NAME. */
      albGroupName?: string;
      /**
       * The subnets the ALB sends traffic from (never the whole VPC: with the
       * AWS VPC CNI every pod has a VPC address); the only sources allowed to
       * reach an app. A list, or one comma-separated string. Env: ALB_SUBNET_CIDRS.
       */
      loadBalancerSourceCidrs?: string[] | string;
      /** Host labels under baseDomain that services may not take. Default: www, api, app, portal, argocd, grafana, ... */
      reservedHosts?: string[];
    };

    /**
     * Unused since every service has its own SecretStore (see `secrets`);
     * kept so existing configs stay valid.
     */
    secretStoreName?: string;

    /** Where each service's secrets live: `<prefix>/<service>/…`, through its own SecretStore. */
    secrets?: {
      /** `aws` (Secrets Manager, default) or `vault` (KV v2, Kubernetes auth). Env: SECRETS_PROVIDER. */
      provider?: 'aws' | 'vault';
      /** Path prefix. Default idp. */
      prefix?: string;
      /** Vault's coordinates (provider vault). */
      vault?: {
        /** Env: VAULT_ADDR. */
        server: string;
        /** KV v2 mount. Default secret. */
        kvMount?: string;
        /** Kubernetes auth mount. Default kubernetes. */
        authMount?: string;
        /**
         * Token allowed to write ACL policies and Kubernetes auth roles. Env: VAULT_TOKEN.
         * @visibility secret
         */
        token?: string;
      };
    };

    /** The network around the services. */
    network?: {
      /** The VPC's CIDR: HTTPS egress never reaches it (nor RFC 1918, nor link-local). Env: VPC_CIDR. */
      vpcCidr?: string;
      /** CIDRs HTTPS egress may reach despite that, e.g. an internal API. */
      egressAllowedCidrs?: string[];
    };

    /** Namespace of Prometheus, allowed to scrape /metrics. Default monitoring. */
    monitoringNamespace?: string;

    /** How the platform renders every service's manifests. */
    render?: {
      /**
       * Labels on every object the platform renders, e.g. a cost centre. The
       * platform's own labels win on a clash. Changing them is a render
       * change: the upgrade (templates/upgrade-services) proposes it to
       * existing services.
       */
      extraLabels?: { [key: string]: string };
    };

    /** Grafana, linked from every service's catalog entity. */
    grafana?: {
      /** Browser URL; a service's dashboard is <baseUrl>/d/<name>. Env: GRAFANA_URL. */
      baseUrl?: string;
    };

    /**
     * The PostgreSQL server services get a database on (the form's "Needs a
     * PostgreSQL database"). Without it that option is refused.
     */
    database?: {
      /** Host services and the platform connect to. */
      host: string;
      /** Default 5432. */
      port?: number;
      /** TLS of every connection, libpq's sslmode. Default verify-full (required in production). */
      sslMode?: 'verify-full' | 'verify-ca' | 'require';
      /** PEM of the CA of the server certificate (RDS: the region's bundle), mounted into services. */
      caCertificate?: string;
      /** Prefix of every service's database and role name, at most 23 characters. Default svc_. */
      namePrefix?: string;
      /** The server's subnets: services' egress policy allows the port to these only. */
      networkCidrs?: string[];
      /** The platform's login on the server (CREATEROLE, CREATEDB). */
      admin: {
        user: string;
        /**
         * Env: DATABASE_ADMIN_PASSWORD.
         * @visibility secret
         */
        password?: string;
        /** Database the admin connects to. Default postgres. */
        database?: string;
      };
    };
  };
}
