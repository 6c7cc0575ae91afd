/**
 * RFC 9457 problem details. Every error a service returns is one of these, served as
 * `application/problem+json`; `type` is a relative URI naming the kind of problem.
 */
export interface FieldError {
  /** Where the problem is, e.g. `body.brand.primary_color` or `query.limit`. */
  field: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `/problems/${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export const problem = {
  validation: (detail: string, errors: FieldError[]) =>
    new ProblemError(400, 'validation', 'Invalid request', detail, { errors }),
  badRequest: (code: string, detail: string) => new ProblemError(400, code, 'Bad request', detail),
  unauthorized: (detail = 'Sign in first: no valid session or access token was presented.') =>
    new ProblemError(401, 'unauthorized', 'Unauthorized', detail),
  forbidden: (code: string, detail: string) => new ProblemError(403, code, 'Forbidden', detail),
  notFound: (detail: string) => new ProblemError(404, 'not-found', 'Not found', detail),
  conflict: (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
    new ProblemError(409, code, 'Conflict', detail, extensions),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new ProblemError(
      429,
      'too-many-requests',
      'Too many requests',
      detail,
      {},
      {
        'retry-after': String(retryAfterSeconds),
      },
    ),
};
