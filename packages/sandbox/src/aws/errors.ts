/**
 * An error the fake answers with, in the protocol of the request:
 * ECR as `{ __type, message }` plus `x-amzn-ErrorType`, IAM as
 * `<ErrorResponse>` with `Code`.
 */
export class AwsError extends Error {
  constructor(
    /** The AWS error code, e.g. `RepositoryNotFoundException` or `NoSuchEntity`. */
    readonly code: string,
    message: string,
    /** HTTP status. */
    readonly status: number = 400,
  ) {
    super(message);
    this.name = code;
  }
}
