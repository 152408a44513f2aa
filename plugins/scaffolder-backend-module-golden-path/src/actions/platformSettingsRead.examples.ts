import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Read the platform settings for the skeleton',
    example: yaml.stringify({
      steps: [
        {
          id: 'platform',
          action: 'idp:platform:settings:read',
          name: 'Read platform settings',
        },
      ],
    }),
  },
];
