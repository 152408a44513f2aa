import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Register the new service in the catalog',
    example: yaml.stringify({
      steps: [
        {
          id: 'register',
          action: 'idp:catalog:entity:register',
          name: 'Register in the catalog',
          input: {
            name: 'payments-api',
            catalogInfoUrl:
              'https://gitlab.example.com/apps/payments-api/-/blob/main/catalog-info.yaml',
          },
        },
      ],
    }),
  },
];
