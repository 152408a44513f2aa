import { InputError } from '@backstage/errors';
import {
  DEFAULT_RESERVED_HOSTS,
} from '@internal/plugin-golden-path-node';
import {
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import { renderContext } from './context';
import { reservedNameProblem } from './input';

describe('host names the platform keeps', () => {
  // argocd is also ArgoCD's namespace, which is refused for that reason first.
  it.each(exampleSettings.reservedHosts.filter(h => h !== 'argocd'))(
    'refuses %p: its host is on the shared load balancer already',
    host => {
      expect(reservedNameProblem(exampleSettings, host)).toBe(
        `name "${host}" is reserved: ${host}.apps.example.com is a host the platform keeps on the shared load balancer`,
      );
      expect(() =>
        renderContext(exampleSettings, { ...exampleRequest, name: host }),
      ).toThrow(InputError);
    },
  );

  it('accepts a name that only starts like a reserved host', () => {
    expect(reservedNameProblem(exampleSettings, 'api-gateway')).toBeUndefined();
  });

  it('follows the configured list, not a built-in one', () => {
    const settings = { ...exampleSettings, reservedHosts: ['shop'] };
    expect(reservedNameProblem(settings, 'shop')).toContain('is reserved');
    expect(reservedNameProblem(settings, 'www')).toBeUndefined();
  });

  it('keeps the platform tools and the usual front doors by default', () => {
    expect(DEFAULT_RESERVED_HOSTS).toEqual(
      expect.arrayContaining(['www', 'api', 'portal', 'argocd', 'grafana', 'gitlab']),
    );
  });
});
