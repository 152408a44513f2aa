import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Validate the service name entered in the form and derive its names',
    example: yaml.stringify({
      steps: [
        {
          id: 'names',
          action: 'idp:platform:name:validate',
          name: 'Check the service name',
          input: { name: 'payments-api' },
        },
      ],
    }),
  },
];
