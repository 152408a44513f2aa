import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  isError,
} from '@backstage/errors';
import { GoldenPathSettings } from '../config';
import { SecretWriterApi, StoredSecret } from './databaseTypes';

/** Credentials for the sandbox endpoint when the default chain has none; never used against AWS. */
const SANDBOX_CREDENTIALS = {
  accessKeyId: 'sandbox-access-key-id',
  secretAccessKey: 'sandbox-secret-access-key',
};

/** THE mapping from Secrets Manager errors to Backstage errors. */
function toBackstageError(error: unknown, what: string): Error {
  const code = (isError(error) ? error.name : '').replace(/Exception$/, '');
  const message = `Could not ${what}`;
  if (code === 'ResourceNotFound') {
    return new NotFoundError(`${message}: it does not exist`, error);
  }
  if (code === 'ResourceExists') {
    return new ConflictError(`${message}: it already exists`, error);
  }
  if (code === 'InvalidRequest') {
    // e.g. "already scheduled for deletion": the secret's state, not our input.
    return new ConflictError(`${message}: ${isError(error) ? error.message : ''}`, error);
  }
  if (code.startsWith('AccessDenied')) {
    return new NotAllowedError(`${message}: access denied`, error);
  }
  if (code === 'InvalidParameter' || code === 'Validation') {
    return new InputError(`${message}: invalid input`, error);
  }
  return new ForwardedError(message, error);
}

async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toBackstageError(error, what);
  }
}

/**
 * Writes services' secrets to AWS Secrets Manager (the sandbox's fake
 * locally). Values are never logged; the secret's tags carry our marker.
 */
export class SecretsManagerStore implements SecretWriterApi {
  readonly kind = 'AWS Secrets Manager' as const;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly logger?: LoggerService,
  ) {}

  /** From `goldenPath.aws` (region, and the sandbox endpoint locally). */
  static fromSettings(
    settings: GoldenPathSettings['aws'],
    options: { logger?: LoggerService } = {},
  ): SecretsManagerStore {
    const { region, endpoint } = settings;
    let client: SecretsManagerClient;
    if (endpoint) {
      const defaultChain = new SecretsManagerClient({ region }).config.credentials;
      client = new SecretsManagerClient({
        region,
        endpoint,
        credentials: async () => {
          try {
            return await defaultChain();
          } catch {
            return SANDBOX_CREDENTIALS;
          }
        },
      });
    } else {
      client = new SecretsManagerClient({ region });
    }
    return new SecretsManagerStore(client, options.logger);
  }

  async findSecret(path: string): Promise<StoredSecret | undefined> {
    try {
      const out = await attempt(`read secret ${path}`, () =>
        this.client.send(new DescribeSecretCommand({ SecretId: path })),
      );
      // One scheduled for deletion is on its way out: creating the path
      // again fails with a ConflictError that says so.
      if (out.DeletedDate) return undefined;
      const tags: Record<string, string> = {};
      for (const { Key, Value } of out.Tags ?? []) {
        if (Key !== undefined) tags[Key] = Value ?? '';
      }
      return { path: out.Name ?? path, tags };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async putSecret(
    path: string,
    data: Record<string, string>,
    tags: Record<string, string>,
  ): Promise<void> {
    const SecretString = JSON.stringify(data);
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    try {
      await attempt(`create secret ${path}`, () =>
        this.client.send(new CreateSecretCommand({ Name: path, SecretString, Tags })),
      );
      this.logger?.info(`Created secret ${path} in AWS Secrets Manager`);
    } catch (error) {
      if (!(error instanceof ConflictError) || !/already exists/.test(error.message)) {
        throw error;
      }
      await attempt(`store a new value in secret ${path}`, () =>
        this.client.send(new PutSecretValueCommand({ SecretId: path, SecretString })),
      );
      await attempt(`tag secret ${path}`, () =>
        this.client.send(new TagResourceCommand({ SecretId: path, Tags })),
      );
      this.logger?.info(`Stored a new value in secret ${path} in AWS Secrets Manager`);
    }
  }

  async deleteSecret(path: string): Promise<void> {
    try {
      await attempt(`delete secret ${path}`, () =>
        this.client.send(
          new DeleteSecretCommand({ SecretId: path, ForceDeleteWithoutRecovery: true }),
        ),
      );
      this.logger?.info(`Deleted secret ${path} from AWS Secrets Manager`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
