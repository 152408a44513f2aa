/**
 * The AWS fake: ECR and IAM on one endpoint, for AWS SDK v3 clients built
 * with `endpoint: urls.aws`. Each request is told apart by its protocol:
 *
 * - Secrets Manager speaks JSON 1.1 too (`X-Amz-Target: secretsmanager.<Operation>`),
 *   its operations named `secretsmanager.<Operation>` for fault rules.
 * - ECR speaks JSON 1.1: `POST /` with
 *   `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`;
 *   errors are HTTP 400 `{ "__type": code, "message": … }` plus
 *   `x-amzn-ErrorType`.
 * - IAM speaks the Query protocol: `POST /` with a form body
 *   `Action=<Operation>&Version=2010-05-08&…`, answered in XML; errors are
 *   `<ErrorResponse>` with 404 NoSuchEntity, 409 EntityAlreadyExists /
 *   DeleteConflict / LimitExceeded, 400 MalformedPolicyDocument /
 *   ValidationError / InvalidInput.
 *
 * The account is `000000000000` (for ECR unless the request's `registryId`
 * names another); the region comes from the SigV4 credential scope of the
 * `Authorization` header (default `eu-west-1`). State is kept in
 * `<dataDir>/aws.db` (SQLite). Access key secrets are returned once and stored
 * only as SHA-256 hashes.
 */
import crypto from 'node:crypto';
import express, { Request, Response, Router } from 'express';
import { Faults } from '../faults';
import { SandboxFakeFactory, SeedService } from '../server';
import { ECR_OPERATIONS, ECR_TARGET_PREFIX, EcrContext, ecrHandlers } from './ecr';
import {
  SECRETS_OPERATIONS,
  SECRETS_TARGET_PREFIX,
  SecretsContext,
  secretsHandlers,
} from './secrets';
import { AwsError } from './errors';
import {
  IAM_OPERATIONS,
  IamContext,
  IamOperation,
  iamHandlers,
  oidcProviderArnOf,
} from './iam';
import { AwsDb, SANDBOX_DEFAULT_REGION } from './state';
import { xmlElement } from './xml';

export { ECR_OPERATIONS, ECR_TARGET_PREFIX } from './ecr';
export { SECRETS_OPERATIONS, SECRETS_TARGET_PREFIX } from './secrets';
export { IAM_OPERATIONS, validatePolicyDocument } from './iam';
export { SANDBOX_ACCOUNT_ID, SANDBOX_DEFAULT_REGION } from './state';
export { AwsDb } from './state';

/**
 * Every operation the AWS fake answers, as `operationOf` names it (and as
 * fault rules match it): the ECR operations by their `X-Amz-Target`
 * suffix, then the IAM operations by their `Action`.
 *
 * ECR: CreateRepository, DescribeRepositories, DeleteRepository,
 * ListTagsForResource, TagResource, UntagResource, PutLifecyclePolicy,
 * GetLifecyclePolicy, DeleteLifecyclePolicy, DescribeImages, ListImages
 * (the last two always list nothing: no images are ever pushed).
 *
 * IAM: see `IAM_OPERATIONS` (policies and their versions, users and
 * access keys, roles, permissions boundaries, OIDC identity providers).
 * The sandbox has no groups: DetachGroupPolicy answers NoSuchEntity. A
 * role whose trust policy names an OIDC provider that is not registered
 * is refused, as IAM does; the sandbox's own GitLab and cluster are
 * registered at start.
 */
export const AWS_OPERATIONS: readonly string[] = [
  ...ECR_OPERATIONS,
  ...IAM_OPERATIONS,
  ...SECRETS_OPERATIONS.map(op => `${SECRETS_TARGET_PREFIX}${op}`),
];

/**
 * What `operationOf` answers for an IAM request whose body is not read yet.
 *
 * The server runs the fault middleware before this fake's router, and an
 * IAM operation is named only inside the form body, so that middleware
 * sees `IAM` (a rule with `operation: 'IAM'` matches every IAM call).
 * The fake then reads the body itself: as soon as it has arrived, the
 * operation log entry is renamed to the real action (also when the server
 * already failed the call), and the router applies the rules that name
 * that action (e.g. `{ service: 'aws', operation: 'CreatePolicy',
 * failNth: 1 }`), answering injected failures in IAM's XML (5xx
 * ServiceFailure, 404 NoSuchEntity, 409 EntityAlreadyExists, 403
 * AccessDenied, 429 Throttling, other 4xx InvalidInput). Failures the server injects
 * itself (rules for `IAM` or for every operation) are plain JSON, which
 * the IAM SDK reports as an unparseable response. A rule without
 * `operation` is counted once per call, except on a call whose action some
 * rule names, where it is counted (and delays) twice.
 */
export const IAM_PENDING_OPERATION = 'IAM';

const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const ECR_CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_BODY_BYTES = 5 * 1024 * 1024;

const isIamOperation = (op: string): op is IamOperation =>
  (IAM_OPERATIONS as readonly string[]).includes(op);

/** The region of the SigV4 credential scope (`Credential=AKID/20250101/<region>/<service>/aws4_request`). */
export function regionOf(req: Request): string {
  const scope =
    /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/[^/,\s]+\/aws4_request/.exec(
      req.header('authorization') ?? '',
    );
  return scope?.[1] ?? SANDBOX_DEFAULT_REGION;
}

/** Query-protocol parameters: the query string, then the form body once it is read. */
function queryParams(req: Request): URLSearchParams {
  const query = req.originalUrl.indexOf('?');
  const params = new URLSearchParams(
    query >= 0 ? req.originalUrl.slice(query + 1) : '',
  );
  const body: unknown = req.body;
  let form: URLSearchParams | undefined;
  if (typeof body === 'string') form = new URLSearchParams(body);
  else if (Buffer.isBuffer(body))
    form = new URLSearchParams(body.toString('utf8'));
  else if (body && typeof body === 'object') {
    form = new URLSearchParams();
    for (const [k, v] of Object.entries(body))
      if (typeof v === 'string') form.append(k, v);
  }
  for (const [k, v] of form ?? []) params.append(k, v);
  return params;
}

function requestId(): string {
  return crypto.randomUUID();
}

function sendEcrError(res: Response, error: AwsError): void {
  res
    .status(error.status)
    .set('x-amzn-RequestId', requestId())
    .set('x-amzn-ErrorType', error.code)
    .type(ECR_CONTENT_TYPE)
    .send(JSON.stringify({ __type: error.code, message: error.message }));
}

function sendIamError(res: Response, error: AwsError): void {
  const id = requestId();
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  res
    .status(error.status)
    .set('x-amzn-RequestId', id)
    .type('text/xml')
    .send(
      `<ErrorResponse xmlns="${IAM_XMLNS}">${xmlElement('Error', {
        Type: type,
        Code: error.code,
        Message: error.message,
      })}${xmlElement('RequestId', id)}</ErrorResponse>`,
    );
}

/** The JSON 1.1 services on this endpoint, by `X-Amz-Target` prefix. */
const JSON_SERVICES: {
  prefix: string;
  operations: readonly string[];
  handlers: Record<string, (input: Record<string, unknown>, ctx: EcrContext & SecretsContext) => unknown>;
}[] = [
  { prefix: ECR_TARGET_PREFIX, operations: ECR_OPERATIONS, handlers: ecrHandlers },
  { prefix: SECRETS_TARGET_PREFIX, operations: SECRETS_OPERATIONS, handlers: secretsHandlers },
];

function handleJson(
  req: Request,
  res: Response,
  target: string,
  ctx: EcrContext & SecretsContext,
): void {
  const service = JSON_SERVICES.find(s => target.startsWith(s.prefix));
  const operation = service ? target.slice(service.prefix.length) : '';
  if (!service || !service.operations.includes(operation)) {
    sendEcrError(
      res,
      new AwsError(
        'UnknownOperationException',
        `sandbox: the AWS fake does not implement ${target}`,
      ),
    );
    return;
  }
  const text = typeof req.body === 'string' ? req.body : '';
  let input: unknown;
  try {
    input = text.trim() ? JSON.parse(text) : {};
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    sendEcrError(
      res,
      new AwsError(
        'SerializationException',
        'Request body is not a JSON object',
      ),
    );
    return;
  }
  try {
    const output = service.handlers[operation](
      input as Record<string, unknown>,
      ctx,
    );
    res
      .status(200)
      .set('x-amzn-RequestId', requestId())
      .type(ECR_CONTENT_TYPE)
      .send(JSON.stringify(output));
  } catch (error) {
    sendEcrError(
      res,
      error instanceof AwsError
        ? error
        : new AwsError('ServerException', `sandbox: ${String(error)}`, 500),
    );
  }
}

function handleIam(
  res: Response,
  action: string,
  params: URLSearchParams,
  ctx: IamContext,
): void {
  if (!isIamOperation(action)) {
    sendIamError(
      res,
      new AwsError(
        'InvalidAction',
        `Could not find operation ${action} for version 2010-05-08 in the sandbox`,
      ),
    );
    return;
  }
  try {
    const result = iamHandlers[action](params, ctx);
    const id = requestId();
    res
      .status(200)
      .set('x-amzn-RequestId', id)
      .type('text/xml')
      .send(
        `<${action}Response xmlns="${IAM_XMLNS}">${
          result ? xmlElement(`${action}Result`, result) : ''
        }${xmlElement('ResponseMetadata', {
          RequestId: id,
        })}</${action}Response>`,
      );
  } catch (error) {
    sendIamError(
      res,
      error instanceof AwsError
        ? error
        : new AwsError('ServiceFailure', `sandbox: ${String(error)}`, 500),
    );
  }
}

/** The IAM error an injected failure of HTTP `status` stands for. */
function injectedIamError(status: number, message: string): AwsError {
  const codes: Record<number, string> = {
    400: 'InvalidInput',
    403: 'AccessDenied',
    404: 'NoSuchEntity',
    409: 'EntityAlreadyExists',
    429: 'Throttling',
  };
  return new AwsError(
    codes[status] ?? (status >= 500 ? 'ServiceFailure' : 'InvalidInput'),
    message,
    status,
  );
}

/**
 * See {@link IAM_PENDING_OPERATION}: applies the fault rules that name the
 * IAM `action`, then runs `next` unless a failure was injected.
 */
function applyIamFaults(
  faults: Faults,
  req: Request,
  res: Response,
  action: string,
  next: () => void,
): void {
  const named = faults
    .rules()
    .some(
      r =>
        r.operation === action &&
        (r.service === undefined || r.service === 'aws'),
    );
  if (!named) {
    next();
    return;
  }
  // The shared middleware answers injected failures with res.json; say it in IAM's XML.
  const json = res.json;
  res.json = ((body: { message?: string }) => {
    res.json = json;
    sendIamError(
      res,
      injectedIamError(
        res.statusCode,
        body?.message ?? 'sandbox: injected failure',
      ),
    );
    return res;
  }) as Response['json'];
  // The server's log entry already stands for this call.
  faults.apply('aws', action, req, res, () => {
    res.json = json;
    next();
  });
}

/**
 * Reads an IAM request's form body as soon as the server's fault
 * middleware has named it {@link IAM_PENDING_OPERATION}, and then renames
 * its log entry (about to be pushed at `logIndex`) to the real action, even
 * when an injected failure keeps the request from the router.
 */
function readIamBody(
  req: Request,
  faults: Faults,
  logIndex: number,
): Promise<string> {
  const body = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new AwsError('ValidationError', 'sandbox: request body too large'),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  body.then(
    text => {
      const action = new URLSearchParams(text).get('Action');
      if (!action) return;
      const pending = `aws ${IAM_PENDING_OPERATION}`;
      const at =
        faults.log[logIndex] === pending
          ? logIndex
          : faults.log.lastIndexOf(pending);
      if (at >= 0) faults.log[at] = `aws ${action}`;
    },
    () => undefined,
  );
  return body;
}

/**
 * Issuer of the sandbox cluster's service-account tokens, registered as an
 * IAM OIDC provider like an EKS cluster's (app-config.yaml names it in
 * `goldenPath.kubernetes.oidcProvider`).
 */
export const SANDBOX_CLUSTER_OIDC_ISSUER = `oidc.eks.${SANDBOX_DEFAULT_REGION}.amazonaws.com/id/SANDBOX`;

/**
 * The identity providers a platform's AWS account has once it is set up:
 * its GitLab (whose CI ID tokens assume the services' CI roles) under both
 * names the sandbox's GitLab answers to, and its cluster (IRSA). IAM refuses
 * a role that trusts an unregistered provider, so without these no role
 * could be made.
 */
function registerOidcProviders(db: AwsDb, gitlabUrl: string): void {
  const gitlab = new URL(gitlabUrl);
  const hosts = new Set([gitlab.host, `localhost:${gitlab.port}`, `127.0.0.1:${gitlab.port}`]);
  const providers: Array<[string, string]> = [
    ...[...hosts].map(h => [`https://${h}`, `https://${h}`] as [string, string]),
    [`https://${SANDBOX_CLUSTER_OIDC_ISSUER}`, 'sts.amazonaws.com'],
  ];
  db.store.transaction(() => {
    for (const [url, audience] of providers) {
      const arn = oidcProviderArnOf(SANDBOX_DEFAULT_REGION, url);
      if (db.oidcProviders.get(arn)) continue;
      iamHandlers.CreateOpenIDConnectProvider(
        new URLSearchParams({ Url: url, 'ClientIDList.member.1': audience }),
        { db, region: SANDBOX_DEFAULT_REGION },
      );
    }
  });
}

/** The AWS fake (ECR + IAM); see the module comment and {@link AWS_OPERATIONS}. */
export const awsFake: SandboxFakeFactory = env => {
  const db = new AwsDb(env.dataDir);
  registerOidcProviders(db, env.urls.gitlab);
  /** Bodies of IAM requests that the server's fault middleware saw as {@link IAM_PENDING_OPERATION}. */
  const pendingIamBodies = new WeakMap<Request, Promise<string>>();

  const operationOf = (req: Request): string => {
    const target = req.header('x-amz-target');
    if (target) {
      // ECR's operations by their bare name; Secrets Manager's keep their prefix
      // (`secretsmanager.TagResource` is not ECR's TagResource).
      return target.startsWith(ECR_TARGET_PREFIX) ? target.slice(ECR_TARGET_PREFIX.length) : target;
    }
    const action = queryParams(req).get('Action');
    if (action) return action;
    const form = (req.header('content-type') ?? '').startsWith(
      'application/x-www-form-urlencoded',
    );
    if (
      req.method === 'POST' &&
      form &&
      req.body === undefined &&
      !pendingIamBodies.has(req)
    ) {
      // The caller logs this call right after we return, at the log's current end.
      pendingIamBodies.set(
        req,
        readIamBody(req, env.faults, env.faults.log.length),
      );
      return IAM_PENDING_OPERATION;
    }
    return `${req.method} ${req.path}`;
  };

  const handle = (req: Request, res: Response, pending: boolean) => {
    const region = regionOf(req);
    const target = req.header('x-amz-target');
    if (target !== undefined) {
      handleJson(req, res, target, { db, region });
      return;
    }
    const params = queryParams(req);
    const action = params.get('Action');
    if (!action) {
      sendEcrError(
        res,
        new AwsError(
          'UnknownOperationException',
          'sandbox: expected X-Amz-Target (ECR, JSON 1.1) or an Action parameter (IAM, Query)',
        ),
      );
      return;
    }
    const run = () => handleIam(res, action, params, { db, region });
    if (pending) applyIamFaults(env.faults, req, res, action, run);
    else run();
  };

  const router = Router();
  router.all(
    '/',
    (req, res, next) => {
      const body = pendingIamBodies.get(req);
      if (!body) {
        next();
        return;
      }
      body.then(
        text => {
          req.body = text;
          handle(req, res, true);
        },
        error =>
          sendIamError(
            res,
            error instanceof AwsError
              ? error
              : new AwsError('ValidationError', String(error)),
          ),
      );
    },
    express.text({ type: () => true, limit: MAX_BODY_BYTES }),
    (req, res) => handle(req, res, false),
  );
  router.use((req, res) => {
    sendEcrError(
      res,
      new AwsError(
        'UnknownOperationException',
        `sandbox: no AWS API at ${req.method} ${req.path}`,
        404,
      ),
    );
  });

  /** An ECR repository, an IAM policy and a CI user per service, named as the golden path names them. */
  const seed = async (services: SeedService[]) => {
    const ctx = { db, region: SANDBOX_DEFAULT_REGION };
    const form = (o: Record<string, string>) => new URLSearchParams(o);
    db.store.transaction(() => {
      for (const { name } of services) {
        const tags = [{ Key: 'golden-path/app', Value: name }];
        if (!db.repositories.get(`arn:aws:ecr:${SANDBOX_DEFAULT_REGION}:000000000000:repository/${name}`)) {
          ecrHandlers.CreateRepository({ repositoryName: name, imageTagMutability: 'IMMUTABLE', tags }, ctx);
        }
        const policyName = `idp-${name}-ecr-push-pull`;
        if (!db.policies.byName(policyName.toLowerCase())) {
          iamHandlers.CreatePolicy(
            form({
              PolicyName: policyName,
              PolicyDocument: JSON.stringify({
                Version: '2012-10-17',
                Statement: [
                  { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
                  {
                    Effect: 'Allow',
                    Action: ['ecr:BatchGetImage', 'ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'],
                    Resource: `arn:aws:ecr:${SANDBOX_DEFAULT_REGION}:000000000000:repository/${name}`,
                  },
                ],
              }),
              'Tags.member.1.Key': 'golden-path/app',
              'Tags.member.1.Value': name,
            }),
            ctx,
          );
        }
        const userName = `idp-${name}-ci`;
        if (!db.users.get(userName.toLowerCase())) {
          iamHandlers.CreateUser(form({ UserName: userName, 'Tags.member.1.Key': 'golden-path/app', 'Tags.member.1.Value': name }), ctx);
          iamHandlers.AttachUserPolicy(form({ UserName: userName, PolicyArn: `arn:aws:iam::000000000000:policy/${policyName}` }), ctx);
        }
      }
    });
  };

  return { router, operationOf, seed, close: () => db.close() };
};
