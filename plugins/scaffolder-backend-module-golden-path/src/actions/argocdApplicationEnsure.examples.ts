import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Create the ArgoCD project and application of a service',
    example: yaml.stringify({
      steps: [
        {
          id: 'argocd',
          action: 'idp:argocd:application:ensure',
          name: 'Create ArgoCD project and application',
          input: {
            name: 'payments-api',
            owner: 'group:default/team-payments',
            description: 'Takes payments',
            port: 3000,
          },
        },
      ],
    }),
  },
];
