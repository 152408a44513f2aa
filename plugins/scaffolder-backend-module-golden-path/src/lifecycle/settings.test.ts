import { ConfigReader } from '@backstage/config';
import { readDecommissionSettings } from '@internal/plugin-golden-path-node';

describe('goldenPath.decommission', () => {
  it.each([
    [{}, 'archive'],
    [{ decommission: {} }, 'archive'],
    [{ decommission: { repositories: 'archive' } }, 'archive'],
    [{ decommission: { repositories: 'delete' } }, 'delete'],
  ])('reads %j as repositories: %s', (goldenPath, repositories) => {
    expect(readDecommissionSettings(new ConfigReader({ goldenPath }))).toEqual({
      repositories,
    });
  });

  it.each([
    [
      { decommission: { repositories: 'shred' } },
      'goldenPath.decommission.repositories',
    ],
    [{ decommission: { repository: 'delete' } }, 'goldenPath.decommission'],
  ])('refuses %j, naming %s', (goldenPath, key) => {
    expect(() =>
      readDecommissionSettings(new ConfigReader({ goldenPath })),
    ).toThrow(key);
  });
});
