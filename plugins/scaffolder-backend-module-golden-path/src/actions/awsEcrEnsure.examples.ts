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
    description: 'Also let CI push: a role for GitLab OIDC (or, with ciAuth static-key, a key in masked, hidden GitLab variables)',
    example: yaml.stringify({
      steps: [
        {
          id: 'registry',
          action: 'idp:aws:ecr:ensure',
          name: 'Create ECR repository, IAM policy and CI access',
          input: { name: 'payments-api', ciCredentials: true },
        },
      ],
    }),
  },
];
