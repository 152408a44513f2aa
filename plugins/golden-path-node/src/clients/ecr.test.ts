import { awsPartition, renderEcrLifecyclePolicy } from './ecr';

describe('renderEcrLifecyclePolicy', () => {
  it('expires all but the last 30 images', () => {
    expect(renderEcrLifecyclePolicy()).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: 'Keep the last 30 images',
          selection: {
            tagStatus: 'any',
            countType: 'imageCountMoreThan',
            countNumber: 30,
          },
          action: { type: 'expire' },
        },
      ],
    });
  });
});

describe('awsPartition', () => {
  it.each([
    ['eu-west-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('%s is in partition %s', (region, partition) => {
    expect(awsPartition(region)).toBe(partition);
  });
});
