/**
 * Request-body validation against ArgoCD's own swagger.json (Swagger 2.0),
 * read from the conformance kit next to the repository
 * (`<repo>/../shared/conformance/argocd/swagger.json`).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** Where the swagger file lives, relative to the repository root. */
export const ARGOCD_SWAGGER_RELATIVE_PATH = '../shared/conformance/argocd/swagger.json';

/** The nearest folder at or above `from` that holds `yarn.lock`, or undefined. */
export function findRepoRoot(from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'yarn.lock'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * `<repo>/../shared/conformance/argocd/swagger.json`, found by walking up
 * from `from` (default: this folder) to the folder with `yarn.lock`; or
 * undefined when the repository or the file cannot be found.
 */
// The sandbox runs from source (node + the CLI's transform, or Jest), so
// __dirname is this folder of the checkout.
// eslint-disable-next-line no-restricted-syntax
export function findArgocdSwagger(from: string = __dirname): string | undefined {
  const root = findRepoRoot(from);
  if (!root) return undefined;
  const file = path.resolve(root, ARGOCD_SWAGGER_RELATIVE_PATH);
  return fs.existsSync(file) ? file : undefined;
}

/** Outcome of validating one body. */
export type BodyCheck =
  | { valid: true }
  | { valid: false; errors: ErrorObject[]; text: string };

/** Validates bodies against `#/definitions/<name>` of one swagger file. */
export class SwaggerBodyValidator {
  static #cache = new Map<string, SwaggerBodyValidator>();

  /** One validator per file, shared (compiling is the slow part). */
  static forFile(file: string): SwaggerBodyValidator {
    let validator = SwaggerBodyValidator.#cache.get(file);
    if (!validator) {
      validator = new SwaggerBodyValidator(JSON.parse(fs.readFileSync(file, 'utf8')));
      SwaggerBodyValidator.#cache.set(file, validator);
    }
    return validator;
  }

  readonly #definitions: Record<string, object>;
  readonly #ajv: Ajv;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(swagger: { definitions?: Record<string, object> }) {
    this.#definitions = swagger.definitions ?? {};
    // strict: false because of `title`/`x-*` annotations; Swagger's int64
    // strings and the like are formats ajv-formats knows or ignores.
    this.#ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(this.#ajv);
  }

  /** Whether the swagger file has this definition. */
  has(definition: string): boolean {
    return definition in this.#definitions;
  }

  validate(definition: string, body: unknown): BodyCheck {
    let validate = this.#compiled.get(definition);
    if (!validate) {
      const schema = this.#definitions[definition];
      if (!schema) throw new Error(`swagger.json has no definition ${definition}`);
      validate = this.#ajv.compile({ ...schema, definitions: this.#definitions });
      this.#compiled.set(definition, validate);
    }
    if (validate(body)) return { valid: true };
    const errors = validate.errors ?? [];
    return {
      valid: false,
      errors,
      text: this.#ajv.errorsText(errors, { dataVar: 'body' }),
    };
  }
}
