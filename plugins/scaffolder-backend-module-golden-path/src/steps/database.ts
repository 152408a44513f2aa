import { randomInt } from 'node:crypto';
import { InputError } from '@backstage/errors';
import {
  RUN_MARKER_KEY,
  SERVICE_KEY,
} from '@internal/plugin-golden-path-common';
import {
  DatabaseClients,
  PostgresDatabase,
  PostgresRole,
  StoredSecret,
} from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';

const PASSWORD_ALPHABET =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new password: 32 characters of [A-Za-z0-9] (190 bits), so it needs no
 * escaping in a URL, a connection string or a shell.
 */
export function generateDatabasePassword(length = 32): string {
  let password = '';
  for (let i = 0; i < length; i++) {
    password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  }
  return password;
}

const markerOf = (plan: ServicePlan) => ({
  [RUN_MARKER_KEY]: plan.marker,
  [SERVICE_KEY]: plan.request.name,
});

/**
 * The service's database, when the request asks for one:
 *
 *   role ── database ── password (set on the role, stored in the secret)
 *
 * Each is recognised by the run marker: in the role's and the database's
 * COMMENT, in the secret's tags. A password cannot be read back from
 * PostgreSQL, so a replay of the last step rotates it: a new password is
 * set and the secret overwritten. Rollback drops the database (ending its
 * sessions), the role, and deletes the secret for good.
 */
export function databaseSteps(
  clients: DatabaseClients | undefined,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const db = plan.database;
  if (!db) return [];
  if (!clients) {
    // Settings and clients come from the same config: only a wiring bug
    // gets here. Fail inside the saga, so what was made is rolled back.
    return [
      {
        id: 'database.role',
        title: `PostgreSQL role ${db.role}`,
        async ensure() {
          throw new InputError(
            'database: the platform has no database server configured (goldenPath.database)',
          );
        },
      },
    ];
  }
  const { admin, secrets } = clients;
  const ours = (comment: Record<string, string>) =>
    comment[RUN_MARKER_KEY] === plan.marker;
  return [
    {
      id: 'database.role',
      title: `PostgreSQL role ${db.role}`,
      find: () => admin.findRole(db.role),
      isOurs: (r: PostgresRole) => ours(r.comment),
      async ensure(_ctx, _deps, found?: PostgresRole) {
        if (!found) await admin.createRole(db.role, markerOf(plan));
        return { role: db.role };
      },
      undo: () => admin.dropRole(db.role),
    },
    {
      id: 'database.database',
      title: `PostgreSQL database ${db.name}`,
      after: ['database.role'],
      find: () => admin.findDatabase(db.name),
      // Also ours: one a crash left without its comment, owned by our role.
      isOurs: (d: PostgresDatabase) =>
        ours(d.comment) ||
        (Object.keys(d.comment).length === 0 &&
          d.owner === db.role &&
          ours(d.ownerComment)),
      async ensure(_ctx, _deps, found?: PostgresDatabase) {
        if (found) {
          await admin.completeDatabase(db.name, db.role, markerOf(plan));
        } else {
          await admin.createDatabase(db.name, db.role, markerOf(plan));
        }
        return { database: db.name, owner: db.role };
      },
      undo: () => admin.dropDatabase(db.name),
    },
    {
      id: 'database.secret',
      title: `${secrets.kind} secret ${db.secretPath}`,
      after: ['database.database'],
      find: () => secrets.findSecret(db.secretPath),
      isOurs: (s: StoredSecret) => ours(s.tags),
      async ensure(ctx, _deps, found?: StoredSecret) {
        const password = generateDatabasePassword();
        await admin.setRolePassword(db.role, password);
        await secrets.putSecret(
          db.secretPath,
          {
            // The RDS secret layout, so AWS tools read it too.
            engine: 'postgres',
            host: db.host,
            port: String(db.port),
            dbname: db.name,
            username: db.role,
            password,
          },
          markerOf(plan),
        );
        ctx.logger.info(
          `${found ? 'Rotated' : 'Set'} the password of PostgreSQL role ${db.role}; stored in ${secrets.kind} secret ${db.secretPath}`,
        );
        // The journal keeps where it is, never the password.
        return { secretPath: db.secretPath, store: secrets.kind };
      },
      undo: () => secrets.deleteSecret(db.secretPath),
    },
  ];
}
