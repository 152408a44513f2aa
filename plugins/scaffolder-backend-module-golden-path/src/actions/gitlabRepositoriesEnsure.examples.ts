import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Create the app and GitOps repositories after rendering the skeleton into ./app',
    example: yaml.stringify({
      steps: [
        {
          id: 'repositories',
          action: 'idp:gitlab:repositories:ensure',
          name: 'Create GitLab repositories',
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
