/**
 * A small model of how AWS STS decides AssumeRoleWithWebIdentity against a
 * role's trust policy (IAM policy evaluation logic, "Role trust policies"):
 * the request carries the identity provider (the token's issuer, registered
 * as an IAM OIDC provider) and the token's claims, which IAM exposes as
 * condition keys `<issuer>:aud`, `<issuer>:sub`, ... An explicit Deny wins;
 * otherwise some Allow statement must match the principal, the action and
 * every condition. A missing key fails a condition (no `IfExists` here).
 *
 * Modelled operators: StringEquals, StringNotEquals, StringLike,
 * StringNotLike (with `*` and `?`), each with one value or a list (any
 * value matches). Anything else throws, so an unmodelled policy cannot pass
 * by accident. @cloud-copilot/iam-simulate does not know OIDC claim keys,
 * which is why this exists; identity policies and boundaries are simulated
 * with it.
 *
 * Test-only module: never import it from production code.
 */

/** A web-identity request: who issued the token and what it says. */
export interface WebIdentityRequest {
  /** ARN of the IAM OIDC provider of the token's issuer. */
  provider: string;
  /** The issuer as IAM names its condition keys (host and path, no scheme). */
  issuer: string;
  /** The token's claims (`aud`, `sub`, ...). */
  claims: Record<string, string>;
  /** Default sts:AssumeRoleWithWebIdentity. */
  action?: string;
}

type Statement = {
  Effect: 'Allow' | 'Deny';
  Principal?: { Federated?: string | string[] } | string;
  Action: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : ([value].flat() as T[]);

const WILDCARDS: Record<string, string> = { '*': '.*', '?': '.' };

function like(pattern: string, value: string): boolean {
  const regex = pattern
    .split('')
    .map(c => WILDCARDS[c] ?? c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))
    .join('');
  return new RegExp(`^${regex}$`).test(value);
}

function conditionHolds(
  operator: string,
  key: string,
  expected: string[],
  context: Record<string, string>,
): boolean {
  const actual = context[key];
  if (actual === undefined) return operator.startsWith('StringNot');
  switch (operator) {
    case 'StringEquals':
      return expected.includes(actual);
    case 'StringNotEquals':
      return !expected.includes(actual);
    case 'StringLike':
      return expected.some(p => like(p, actual));
    case 'StringNotLike':
      return !expected.some(p => like(p, actual));
    default:
      throw new Error(`Condition operator ${operator} is not modelled`);
  }
}

function matches(statement: Statement, request: WebIdentityRequest): boolean {
  const action = request.action ?? 'sts:AssumeRoleWithWebIdentity';
  if (!list(statement.Action).some(a => a === action || like(a, action))) {
    return false;
  }
  const principal = statement.Principal;
  if (principal !== '*') {
    const federated = typeof principal === 'object' ? list(principal.Federated) : [];
    if (!federated.includes(request.provider)) return false;
  }
  const context = Object.fromEntries(
    Object.entries(request.claims).map(([claim, value]) => [
      `${request.issuer}:${claim}`,
      value,
    ]),
  );
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) =>
      conditionHolds(operator, key, list(values), context),
    ),
  );
}

/** Whether the trust policy lets this token assume the role. */
export function trustAllows(
  trustPolicy: { Statement: Statement[] | Statement },
  request: WebIdentityRequest,
): boolean {
  const statements = list(trustPolicy.Statement);
  if (statements.some(s => s.Effect === 'Deny' && matches(s, request))) {
    return false;
  }
  return statements.some(s => s.Effect === 'Allow' && matches(s, request));
}
