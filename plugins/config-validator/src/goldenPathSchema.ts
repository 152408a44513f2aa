import { z } from 'zod';

/**
 * Shape of our own `goldenPath` config section (declared for Backstage in the
 * golden-path module's config.d.ts). Strict: an unknown key is a typo until
 * proven otherwise. Every key is optional here; what production requires is
 * decided by the rules in validate.ts, so local runs can omit most of it.
 */
const hostname = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?$/i, 'must be a host name without scheme, e.g. gitlab.example.com');
const groupPath = z
  .string()
  .regex(/^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)*$/, 'must be a GitLab group full path, e.g. platform/gitops');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL');

export const goldenPathSchema = z
  .object({
    signIn: z.enum(['guest', 'github']).optional(),
    gitlab: z
      .object({
        host: hostname.optional(),
        apiBaseUrl: httpUrl.optional(),
        appGroup: groupPath.optional(),
        gitopsGroup: groupPath.optional(),
      })
      .strict()
      .optional(),
    aws: z
      .object({
        accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1').optional(),
        ecrRegistry: z.string().optional(),
        endpoint: httpUrl.optional(),
      })
      .strict()
      .optional(),
    argocd: z
      .object({
        url: httpUrl.optional(),
        token: z.string().optional(),
        namespace: z.string().optional(),
        retry: z
          .object({
            maxAttempts: z.number().int().positive().optional(),
            baseDelayMs: z.number().nonnegative().optional(),
            maxDelayMs: z.number().nonnegative().optional(),
            maxTotalMs: z.number().nonnegative().optional(),
          })
          .strict()
          .optional(),
        requestTimeoutMs: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    kubernetes: z
      .object({
        clusterName: z.string().optional(),
        url: httpUrl.optional(),
        token: z.string().optional(),
        caData: z.string().optional(),
        skipTLSVerify: z.boolean().optional(),
        argocdClusterServer: httpUrl.optional(),
      })
      .strict()
      .optional(),
    baseDomain: hostname.optional(),
    ingress: z
      .object({
        certificateArn: z
          .string()
          .regex(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[-a-f0-9]+$/, 'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)')
          .optional(),
        albGroupName: z.string().regex(/^[a-z0-9][-a-z0-9.]{0,62}$/, 'must be a lowercase ALB group name').optional(),
        loadBalancerSourceCidrs: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR')).optional(),
      })
      .strict()
      .optional(),
    secretStoreName: z.string().optional(),
    monitoringNamespace: z.string().optional(),
  })
  .strict();

export type GoldenPathConfig = z.infer<typeof goldenPathSchema>;
