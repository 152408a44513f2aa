import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { SecretWriterApi, StoredSecret } from './databaseTypes';

/** THE mapping from Vault HTTP answers to Backstage errors. */
async function toBackstageError(res: Response, what: string): Promise<Error> {
  let detail = '';
  try {
    const body = (await res.json()) as { errors?: string[] };
    detail = body.errors?.join('; ') ?? '';
  } catch {
    // No JSON body.
  }
  const message = `Could not ${what}: Vault answered ${res.status}${detail ? ` (${detail})` : ''}`;
  if (res.status === 404) return new NotFoundError(message);
  if (res.status === 403 || res.status === 401) return new NotAllowedError(message);
  if (res.status === 400) return new InputError(message);
  if (res.status === 409 || res.status === 412) return new ConflictError(message);
  return new ForwardedError(message, new Error(`HTTP ${res.status}`));
}

/**
 * Writes services' secrets to Vault's KV version 2 engine: the value to
 * `<mount>/data/<path>`, our marker to the path's `custom_metadata`, and
 * deletion removes every version with the metadata. The token is sent as
 * `X-Vault-Token` and never logged.
 */
export class VaultKvStore implements SecretWriterApi {
  readonly kind = 'Vault' as const;
  readonly #server: string;
  readonly #mount: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #logger?: LoggerService;

  constructor(options: {
    server: string;
    kvMount: string;
    token: string;
    fetch?: typeof fetch;
    logger?: LoggerService;
  }) {
    this.#server = options.server.replace(/\/+$/, '');
    this.#mount = options.kvMount.replace(/^\/+|\/+$/g, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
    this.#logger = options.logger;
  }

  async #call(
    what: string,
    method: string,
    kind: 'data' | 'metadata',
    path: string,
    body?: unknown,
  ): Promise<Response> {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    let res: Response;
    try {
      res = await this.#fetch(`${this.#server}/v1/${this.#mount}/${kind}/${encoded}`, {
        method,
        headers: {
          'X-Vault-Token': this.#token,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ForwardedError(`Could not ${what}: Vault is unreachable`, error);
    }
    if (!res.ok) throw await toBackstageError(res, what);
    return res;
  }

  async findSecret(path: string): Promise<StoredSecret | undefined> {
    try {
      const res = await this.#call(`read secret ${path}`, 'GET', 'metadata', path);
      const body = (await res.json()) as {
        data?: { custom_metadata?: Record<string, string> | null };
      };
      return { path, tags: body.data?.custom_metadata ?? {} };
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
    await this.#call(`write secret ${path}`, 'POST', 'data', path, { data });
    await this.#call(`tag secret ${path}`, 'POST', 'metadata', path, {
      custom_metadata: tags,
    });
    this.#logger?.info(`Stored secret ${path} in Vault`);
  }

  async deleteSecret(path: string): Promise<void> {
    try {
      await this.#call(`delete secret ${path}`, 'DELETE', 'metadata', path);
      this.#logger?.info(`Deleted secret ${path} from Vault`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
