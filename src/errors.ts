/**
 * Every error the service can answer with, in one registry: `errors`, one class per stable code,
 * each with a description (what it means and what to change). Callers throw `new errors.X(…)` and
 * recognise an error by its class (`err instanceof errors.QUEUE_FULL`), never by comparing code
 * strings. Field-level details travel one way only: the `fields` constructor argument of the
 * errors that take them, read back as `err.errors`.
 *
 * Layering (docs/api.md "Errors"): this module imports nothing and knows nothing of HTTP, so the
 * runtime may import it. How each code is said over HTTP (status, problem title) is bound in
 * src/http/problem.ts by a table typed `Record<ErrorCode, …>`: the compiler refuses a code without
 * a status there, or a status for a code that is not here. Add new codes here, then there.
 */

export interface FieldError {
  /** Dotted path of the offending field (`network.layers.0.units`), '' for the whole request. */
  path: string;
  message: string;
}

/** The base of every registered error. `code` is the stable name clients match on. */
export abstract class GlError extends Error {
  abstract readonly code: string;
  /** The fields at fault (empty unless the error is about particular fields). */
  readonly errors: readonly FieldError[];

  constructor(message: string, fields: readonly FieldError[] = []) {
    super(message);
    this.errors = fields;
  }
}

/** One registered error class: construct it with `args`, recognise it with instanceof. */
export interface GlErrorClass<C extends string = string, A extends unknown[] = never[]> {
  new (...args: A): GlError & { readonly code: C };
  readonly code: C;
  readonly description: string;
}

function define<const C extends string, A extends unknown[]>(
  code: C,
  description: string,
  format: (...args: A) => string,
  fieldsOf?: (...args: A) => readonly FieldError[],
): GlErrorClass<C, A> {
  const name = `${code
    .slice('GL_ERR_'.length)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase())}Error`;
  const Class = class extends GlError {
    static readonly code = code;
    static readonly description = description;
    readonly code = code;
    constructor(...args: A) {
      super(format(...args), fieldsOf?.(...args));
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  Class.prototype.name = name;
  return Class;
}

type Detailed = [fields: readonly FieldError[], detail?: string];

/** An error about particular fields: built from them; its message names each one unless `detail` is given. */
function defineDetailed<const C extends string>(code: C, description: string, lead: string): GlErrorClass<C, Detailed> {
  return define(
    code,
    description,
    (...[fields, detail]: Detailed) =>
      `${lead}: ${detail ?? fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ')}`,
    (fields) => fields,
  );
}

export const errors = {
  VALIDATION: define<'GL_ERR_VALIDATION', [fields: readonly FieldError[], where?: string]>(
    'GL_ERR_VALIDATION',
    'The body, query or path parameters do not match the schema; `errors` names each bad field.',
    (fields: readonly FieldError[], where = 'request body') =>
      `Invalid ${where}: ${[...new Set(fields.map((f) => f.path || '(root)'))].join(', ')}`,
    (fields) => fields,
  ),
  MALFORMED_BODY: define(
    'GL_ERR_MALFORMED_BODY',
    'The body is not parseable JSON, or carries prototype-pollution keys (__proto__, constructor.prototype).',
    (why: string) => `The request body is not acceptable JSON: ${why}`,
  ),
  BAD_REQUEST: define(
    'GL_ERR_BAD_REQUEST',
    'Another malformed request the HTTP layer refuses (e.g. a Content-Length that does not match the body).',
    (why: string) => `Bad request: ${why}`,
  ),
  UNAUTHORIZED: define(
    'GL_ERR_UNAUTHORIZED',
    'API keys are configured and the request has no valid `Authorization: Bearer <key>` (or `access_token` on a stream).',
    (why: string) => `A valid API key is required: ${why}`,
  ),
  BODY_TOO_LARGE: define(
    'GL_ERR_BODY_TOO_LARGE',
    'The body is larger than BODY_LIMIT.',
    (limit: number | string) => `The request body is larger than ${limit} bytes`,
  ),
  UNSUPPORTED_MEDIA_TYPE: define(
    'GL_ERR_UNSUPPORTED_MEDIA_TYPE',
    "The body's Content-Type is not application/json.",
    (contentType: string) => `Unsupported Content-Type: ${contentType}`,
  ),
  ROUTE_NOT_FOUND: define(
    'GL_ERR_ROUTE_NOT_FOUND',
    'No route for this method and path.',
    (route: string) => `No route ${route}`,
  ),
  UPGRADE_REQUIRED: define(
    'GL_ERR_UPGRADE_REQUIRED',
    'A WebSocket endpoint was called without the WebSocket upgrade.',
    (path: string) => `${path} is a WebSocket endpoint; connect with a WebSocket client`,
  ),
  RATE_LIMITED: define(
    'GL_ERR_RATE_LIMITED',
    'Too many requests from this API key (or address) in the window; retry after Retry-After seconds.',
    (why: string) => `Rate limit exceeded: ${why}`,
  ),
  SPEC_IMPOSSIBLE: defineDetailed(
    'GL_ERR_SPEC_IMPOSSIBLE',
    'The spec parses but cannot run (shapes that do not chain, batch-norm on an rnn, …); `errors` names the fields.',
    'The job spec cannot run',
  ),
  OVER_BUDGET: defineDetailed(
    'GL_ERR_OVER_BUDGET',
    'The estimated work, memory or analysis time is over the configured budget; `errors` names the field to shrink.',
    'The job is over the size budget',
  ),
  JOB_NOT_FOUND: define('GL_ERR_JOB_NOT_FOUND', 'No such job, or not yours.', (id: string) => `No job ${id}`),
  JOB_ENDED: define(
    'GL_ERR_JOB_ENDED',
    'The job has already ended (succeeded, failed or cancelled): there is nothing to cancel.',
    (id: string, status: string) => `Job ${id} has already ended (${status})`,
  ),
  QUEUE_FULL: define(
    'GL_ERR_QUEUE_FULL',
    'The queue (jobs, or analyses waiting for a worker) is full; retry after Retry-After seconds.',
    (waiting: number) => `The queue is full (${waiting} waiting); retry later`,
  ),
  STORAGE_FULL: define(
    'GL_ERR_STORAGE_FULL',
    'The storage budget (STORE_MAX_BYTES) or the disk itself has no room for the job; nothing was written.',
    (why: string) => `No storage left for the job: ${why}`,
  ),
  QUOTA_EXCEEDED: define(
    'GL_ERR_QUOTA_EXCEEDED',
    "The API key's storage quota (KEY_QUOTA_BYTES) has no room for the job's largest possible result; space returns as ended jobs expire.",
    (why: string) => `Storage quota exceeded: ${why}`,
  ),
  DRAINING: define(
    'GL_ERR_DRAINING',
    'The server is shutting down and accepts no new work.',
    () => 'The server is shutting down and accepts no new jobs',
  ),
  SWEEP_INVALID: defineDetailed(
    'GL_ERR_SWEEP_INVALID',
    'The sweep cannot run: an axis names no job-spec field, a value is refused (the cell is named), or the grid is over the cell or work budget; `errors` lists the fields.',
    'The sweep cannot run',
  ),
  SWEEP_NOT_FOUND: define('GL_ERR_SWEEP_NOT_FOUND', 'No such sweep, or not yours.', (id: string) => `No sweep ${id}`),
  SWEEP_ENDED: define(
    'GL_ERR_SWEEP_ENDED',
    'The sweep has already ended: there is nothing to cancel.',
    (id: string, status: string) => `Sweep ${id} has already ended (${status})`,
  ),
  INTERNAL: define(
    'GL_ERR_INTERNAL',
    "A fault on the server's side; details are in the server log under the request id, never in the reply.",
    () => 'Internal server error',
  ),
} as const;

/** Every registered error class. */
export type ErrorClass = (typeof errors)[keyof typeof errors];
/** Every stable error code. */
export type ErrorCode = ErrorClass['code'];
/** An instance of a registered error. */
export type RegisteredError = InstanceType<ErrorClass>;

/** The registered error class of `err`, if it is one. */
export function isGlError(err: unknown): err is RegisteredError {
  return err instanceof GlError;
}
