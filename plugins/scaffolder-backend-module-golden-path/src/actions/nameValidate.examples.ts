import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Validate the service name entered in the form',
    example: yaml.stringify({
      steps: [
        {
          id: 'validate-name',
          action: 'idp:name:validate',
          name: 'Check the service name',
          input: { name: 'payments-api' },
        },
      ],
    }),
  },
];
