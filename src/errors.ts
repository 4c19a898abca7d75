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
} as const;

export type ErrorCode = (typeof errors)[keyof typeof errors]['prototype']['code'];
