/**
 * Pure AWS helpers the registry client applies to every repository.
 */

/** Number of images the lifecycle policy keeps. */
export const ECR_KEEP_LAST_IMAGES = 30;

/** An ECR lifecycle policy (the subset of the grammar we generate). */
export interface EcrLifecyclePolicy {
  rules: Array<{
    rulePriority: number;
    description: string;
    selection: {
      tagStatus: 'any';
      countType: 'imageCountMoreThan';
      countNumber: number;
    };
    action: { type: 'expire' };
  }>;
}

/** AWS partition of a region: China and GovCloud ARNs differ from `aws`. */
export function awsPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * Expires all but the newest {@link ECR_KEEP_LAST_IMAGES} images, so the
 * repository does not grow without bound. Serialise with JSON.stringify for
 * PutLifecyclePolicy.
 */
export function renderEcrLifecyclePolicy(): EcrLifecyclePolicy {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the last ${ECR_KEEP_LAST_IMAGES} images`,
        selection: {
          tagStatus: 'any',
          countType: 'imageCountMoreThan',
          countNumber: ECR_KEEP_LAST_IMAGES,
        },
        action: { type: 'expire' },
      },
    ],
  };
}
