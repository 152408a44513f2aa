import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Apply the namespace, NetworkPolicies and RBAC of a service',
    example: yaml.stringify({
      steps: [
        {
          id: 'namespace',
          action: 'idp:kubernetes:bundle:apply',
          name: 'Apply namespace, network policies and RBAC',
          input: {
            name: 'payments-api',
            owner: 'group:default/team-payments',
            port: 3000,
          },
        },
      ],
    }),
  },
];
