/**
 * Every error the service can answer with, in one place: a stable code, its HTTP status and a
 * message. The HTTP layer turns them into application/problem+json (RFC 9457); the README's
 * error table lists every code (a test checks it). Add new codes here only.
 */
import createError from '@fastify/error';

export interface FieldError {
  path: string;
  message: string;
}

/** Errors that carry field-level details (validation, impossible specs). */
export class DetailedError extends Error {
  constructor(
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

export const errors = {
  /** The body or query is not a valid request (schema validation). */
  VALIDATION: createError('GL_ERR_VALIDATION', 'Invalid request: %s', 400),
  /** A spec that parses but cannot run: shapes that do not chain, batch-norm on an rnn, … */
  SPEC_IMPOSSIBLE: createError('GL_ERR_SPEC_IMPOSSIBLE', 'The job spec cannot run: %s', 422),
  /** A spec whose estimated work or memory is over the configured budget. */
  OVER_BUDGET: createError('GL_ERR_OVER_BUDGET', 'The job is over the size budget: %s', 422),
  JOB_NOT_FOUND: createError('GL_ERR_JOB_NOT_FOUND', 'No job %s', 404),
  JOB_ENDED: createError('GL_ERR_JOB_ENDED', 'Job %s has already ended (%s)', 409),
  QUEUE_FULL: createError('GL_ERR_QUEUE_FULL', 'The job queue is full (%s jobs waiting); retry later', 503),
  DRAINING: createError('GL_ERR_DRAINING', 'The server is shutting down and accepts no new jobs', 503),
  /** The server's storage budget (or its disk) has no room for the job (runtime/storage.ts). */
  STORAGE_FULL: createError('GL_ERR_STORAGE_FULL', 'No storage left for the job: %s', 507),
  /** The API key's storage quota has no room for the job (runtime/storage.ts). */
  QUOTA_EXCEEDED: createError('GL_ERR_QUOTA_EXCEEDED', 'Storage quota exceeded: %s', 429),
  /** The body is not parseable JSON, or carries prototype-pollution keys (__proto__, constructor.prototype). */
  MALFORMED_BODY: createError('GL_ERR_MALFORMED_BODY', 'The request body is not acceptable JSON: %s', 400),
  /** API keys are configured and the request has no valid `Authorization: Bearer <key>`. */
  UNAUTHORIZED: createError('GL_ERR_UNAUTHORIZED', 'A valid API key is required: %s', 401),
  /** No route for this method and path. */
  ROUTE_NOT_FOUND: createError('GL_ERR_ROUTE_NOT_FOUND', 'No route %s', 404),
  /** The body is larger than BODY_LIMIT. */
  BODY_TOO_LARGE: createError('GL_ERR_BODY_TOO_LARGE', 'The request body is larger than %s bytes', 413),
  /** The body's Content-Type is not application/json. */
  UNSUPPORTED_MEDIA_TYPE: createError('GL_ERR_UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: %s', 415),
  /** A WebSocket route was called without the WebSocket upgrade. */
  UPGRADE_REQUIRED: createError(
    'GL_ERR_UPGRADE_REQUIRED',
    '%s is a WebSocket endpoint; connect with a WebSocket client',
    426,
  ),
  /** Too many requests from this API key (or address) in the window. */
  RATE_LIMITED: createError('GL_ERR_RATE_LIMITED', 'Rate limit exceeded: %s', 429),
  /** A sweep whose axes name no job-spec field, give a value the schema refuses (the cell is named), or exceed the cell or work budget; `errors` lists the fields. */
  SWEEP_INVALID: createError('GL_ERR_SWEEP_INVALID', 'The sweep cannot run: %s', 422),
  SWEEP_NOT_FOUND: createError('GL_ERR_SWEEP_NOT_FOUND', 'No sweep %s', 404),
  SWEEP_ENDED: createError('GL_ERR_SWEEP_ENDED', 'Sweep %s has already ended (%s)', 409),
  /** Any other client error fastify raises (bad headers, …). */
  BAD_REQUEST: createError('GL_ERR_BAD_REQUEST', 'Bad request: %s', 400),
  /** A fault on the server's side; details are in the server log under the request id, never in the reply. */
  INTERNAL: createError('GL_ERR_INTERNAL', 'Internal server error', 500),
} as const;

export type ErrorCode = (typeof errors)[keyof typeof errors]['prototype']['code'];
