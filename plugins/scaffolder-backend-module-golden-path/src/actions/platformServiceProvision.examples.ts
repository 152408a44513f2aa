import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Provision everything a new service gets, after rendering the skeleton into ./app',
    example: yaml.stringify({
      steps: [
        {
          id: 'provision',
          action: 'idp:platform:service:provision',
          name: 'Create repositories, registry, ArgoCD application and namespace',
          input: {
            name: 'payments-api',
            owner: 'group:default/team-payments',
            description: 'Takes payments: cards, wallets and refunds',
            port: 3000,
            replicas: 2,
            sourcePath: 'app',
          },
        },
      ],
    }),
  },
];
