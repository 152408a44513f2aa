import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'List what decommissioning the service would remove and keep, changing nothing',
    example: yaml.stringify({
      steps: [
        {
          id: 'preview',
          action: 'idp:platform:service:decommission',
          name: 'What would be removed',
          input: {
            name: 'payments-api',
            confirmName: 'payments-api',
            dryRun: true,
          },
        },
      ],
    }),
  },
  {
    description:
      'Decommission the service: remove everything its Create made and archive its two repositories',
    example: yaml.stringify({
      steps: [
        {
          id: 'decommission',
          action: 'idp:platform:service:decommission',
          name: 'Decommission the service',
          input: {
            name: 'payments-api',
            confirmName: 'payments-api',
            repositories: 'archive',
          },
        },
      ],
    }),
  },
];
