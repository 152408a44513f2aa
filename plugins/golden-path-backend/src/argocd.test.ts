import { isApplicationName, toApplicationStatus } from './argocd';

const ui = { argocdUrl: 'https://argocd.example.com/', namespace: 'argocd' };

describe('toApplicationStatus', () => {
  it('reads revisions of multi-source applications and the last deployment', () => {
    expect(
      toApplicationStatus(
        'svc',
        {
          spec: {
            sources: [
              {
                repoURL:
                  'https://ci:secret@gitlab.example.com/g/svc-gitops.git',
              },
              { repoURL: 'https://gitlab.example.com/g/other.git' },
            ],
          },
          status: {
            sync: { status: 'OutOfSync', revisions: ['abc123', 'def456'] },
            health: { status: 'Degraded' },
            history: [
              { revision: 'old', deployedAt: '2024-01-01T00:00:00Z' },
              { revision: 'abc123', deployedAt: '2024-02-01T00:00:00Z' },
            ],
          },
        },
        ui,
      ),
    ).toEqual({
      name: 'svc',
      sync: 'OutOfSync',
      health: 'Degraded',
      revision: 'abc123',
      lastSyncedAt: '2024-02-01T00:00:00Z',
      url: 'https://argocd.example.com/applications/argocd/svc',
      // Credentials in a repository URL are never handed out.
      repoUrl: 'https://gitlab.example.com/g/svc-gitops',
    });
  });

  it('answers Unknown for an application without status', () => {
    expect(toApplicationStatus('svc', {}, ui)).toMatchObject({
      sync: 'Unknown',
      health: 'Unknown',
      revision: null,
      lastSyncedAt: null,
      repoUrl: null,
    });
  });
});

describe('isApplicationName', () => {
  it.each(['svc', 'my-svc', 'a.b-c', 'x1'])('accepts %s', name =>
    expect(isApplicationName(name)).toBe(true),
  );
  it.each(['', 'Svc', '-svc', 'svc-', 'a/b', 'a_b', 'a'.repeat(254)])(
    'rejects %p',
    name => expect(isApplicationName(name)).toBe(false),
  );
});
