import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Refuse a service name that is already taken anywhere',
    example: yaml.stringify({
      steps: [
        {
          id: 'name-free',
          action: 'idp:platform:name:check',
          name: 'Check the name is free',
          input: { name: 'payments-api' },
        },
      ],
    }),
  },
];
