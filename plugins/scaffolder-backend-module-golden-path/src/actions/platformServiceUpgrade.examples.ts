import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Upgrade one service: open or update its upgrade merge request',
    example: yaml.stringify({
      steps: [
        {
          id: 'upgrade',
          action: 'idp:platform:service:upgrade',
          name: 'Upgrade payments-api to the current golden path',
          input: { name: 'payments-api' },
        },
      ],
    }),
  },
  {
    description: 'Show what upgrading every service would change, changing nothing',
    example: yaml.stringify({
      steps: [
        {
          id: 'upgrade',
          action: 'idp:platform:service:upgrade',
          name: 'Dry run of the upgrade of every service',
          input: { all: true, dryRun: true },
        },
      ],
    }),
  },
];
