import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Create the ECR repository and per-app IAM policy',
    example: yaml.stringify({
      steps: [
        {
          id: 'registry',
          action: 'idp:aws:ecr:ensure',
          name: 'Create ECR repository and IAM policy',
          input: { name: 'payments-api' },
        },
      ],
    }),
  },
  {
    description: 'Also create CI credentials stored as masked GitLab variables',
    example: yaml.stringify({
      steps: [
        {
          id: 'registry',
          action: 'idp:aws:ecr:ensure',
          name: 'Create ECR repository, IAM policy and CI user',
          input: { name: 'payments-api', ciCredentials: true },
        },
      ],
    }),
  },
];
