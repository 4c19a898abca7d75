/**
 * Every error the API answers with is application/problem+json (RFC 9457). This module turns
 * whatever was thrown — a zod validation failure, one of our GL_ERR_ codes, a fastify client
 * error, a bug — into one shape, and never lets a stack trace reach a client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Problem } from '../contract/api.js';
import { type ErrorClass, type ErrorCode, errors, type FieldError, GlError } from '../errors.js';
import { suggestFieldNames } from './suggest.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * How each registered code (src/errors.ts) is said over HTTP: its status and its problem title.
 * Typed over every ErrorCode, so a code cannot be added without its status, and kept here so the
 * runtime, which imports src/errors.ts, never depends on HTTP.
 */
export const HTTP_PROBLEMS = {
  GL_ERR_VALIDATION: { status: 400, title: 'Invalid request' },
  GL_ERR_MALFORMED_BODY: { status: 400, title: 'Malformed body' },
  GL_ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  GL_ERR_UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  GL_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  GL_ERR_JOB_NOT_FOUND: { status: 404, title: 'Job not found' },
  GL_ERR_SWEEP_NOT_FOUND: { status: 404, title: 'Sweep not found' },
  GL_ERR_JOB_ENDED: { status: 409, title: 'Job already ended' },
  GL_ERR_SWEEP_ENDED: { status: 409, title: 'Sweep already ended' },
  GL_ERR_BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  GL_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  GL_ERR_SPEC_IMPOSSIBLE: { status: 422, title: 'Spec cannot run' },
  GL_ERR_OVER_BUDGET: { status: 422, title: 'Over budget' },
  GL_ERR_SWEEP_INVALID: { status: 422, title: 'Sweep cannot run' },
  GL_ERR_UPGRADE_REQUIRED: { status: 426, title: 'WebSocket upgrade required' },
  GL_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  GL_ERR_QUOTA_EXCEEDED: { status: 429, title: 'Storage quota exceeded' },
  GL_ERR_STORAGE_FULL: { status: 507, title: 'Insufficient storage' },
  GL_ERR_INTERNAL: { status: 500, title: 'Internal Server Error' },
  GL_ERR_QUEUE_FULL: { status: 503, title: 'Queue full' },
  GL_ERR_DRAINING: { status: 503, title: 'Shutting down' },
} as const satisfies Record<ErrorCode, { status: number; title: string }>;

/**
 * Field errors listed in one problem at most; the rest are counted in `detail`. A body with 500,000
 * bad array elements once got a 56 MB answer (issue 11, defect 2): the first few say what to fix.
 */
export const MAX_FIELD_ERRORS = 20;

/** Seconds a client should wait before retrying a 503 (queue full, draining). */
const RETRY_AFTER_503_S = 5;

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_PROBLEMS[code].status;
}

/**
 * Every /v1 route can answer these: the API-key check and the rate limit run before any route.
 * (GL_ERR_INTERNAL is a bug, not a code a route documents; GL_ERR_ROUTE_NOT_FOUND has no route.)
 */
const EVERY_V1_ROUTE: readonly ErrorClass[] = [errors.UNAUTHORIZED, errors.RATE_LIMITED];

/** What any route with a JSON body can also answer, before its handler runs. */
export const BODY_ERRORS: readonly ErrorClass[] = [
  errors.VALIDATION,
  errors.MALFORMED_BODY,
  errors.BODY_TOO_LARGE,
  errors.UNSUPPORTED_MEDIA_TYPE,
];

type ProblemResponse = {
  description: string;
  content: { 'application/problem+json': { schema: z.ZodType } };
};

/**
 * The OpenAPI error responses of a /v1 route, from the registry: one entry per status, its
 * description listing each code with its meaning, its schema the Problem with `code` restricted
 * to exactly those codes. Pass the classes the route can throw; 401 and 429 are added.
 */
export function problems(...thrown: ErrorClass[]): Record<number, ProblemResponse> {
  const byStatus = new Map<number, ErrorClass[]>();
  for (const E of new Set([...thrown, ...EVERY_V1_ROUTE])) {
    const status = httpStatusOf(E.code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), E]);
  }
  const out: Record<number, ProblemResponse> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const list = byStatus.get(status)!.sort((a, b) => a.code.localeCompare(b.code));
    const codes = list.map((E) => E.code) as [string, ...string[]];
    out[status] = {
      description: list.map((E) => `${E.code}: ${E.description}`).join('\n\n'),
      content: {
        'application/problem+json': {
          schema: z.intersection(Problem, z.looseObject({ code: z.enum(codes) })),
        },
      },
    };
  }
  return out;
}

export function problemType(code: string): string {
  return `urn:gradient-lab:problem:${code}`;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

interface ZodLikeValidation {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Field errors from fastify-type-provider-zod's validation array: one per bad field, dotted paths. */
export function fieldErrorsFromValidation(validation: ZodLikeValidation[], context: string | undefined): FieldError[] {
  const prefix = context && context !== 'body' ? `${context}.` : '';
  const out: FieldError[] = [];
  for (const v of validation) {
    const parts = v.instancePath.split('/').filter((p) => p.length > 0);
    const keys = v.params?.['keys'];
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      // zod reports unknown keys on their parent; naming each key tells the client what to remove.
      for (const k of keys) out.push({ path: prefix + dotted([...parts, String(k)]), message: 'unknown field' });
      continue;
    }
    const path = prefix + dotted(parts);
    out.push({ path: path === '' ? '' : path, message: v.message ?? v.keyword });
  }
  return out;
}

/** Answers `error` as problem+json: status and title from HTTP_PROBLEMS, `errors` when it names fields. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: GlError): FastifyReply {
  const code = error.code as ErrorCode;
  const { status, title } = HTTP_PROBLEMS[code];
  const body: Problem = {
    type: problemType(code),
    title,
    status,
    detail: error.message,
    code,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: String(request.id),
  };
  if (error.errors.length > 0) body.errors = error.errors.slice(0, MAX_FIELD_ERRORS);
  if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_503_S));
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

/** Fastify's own client errors, as registered errors whose detail says what to change. */
const FASTIFY_ERRORS: Record<string, (req: FastifyRequest) => GlError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (req) => new errors.BODY_TOO_LARGE(String(req.routeOptions.bodyLimit ?? '')),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: mediaTypeError,
  FST_ERR_CTP_EMPTY_TYPE: mediaTypeError,
  FST_ERR_CTP_INVALID_TYPE: mediaTypeError,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new errors.BAD_REQUEST('Content-Length does not match the body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new errors.MALFORMED_BODY('the body is empty'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new errors.MALFORMED_BODY('not valid JSON'),
};

function mediaTypeError(req: FastifyRequest): GlError {
  const ct = req.headers['content-type'] ?? '(none)';
  return new errors.UNSUPPORTED_MEDIA_TYPE(`${ct.slice(0, 100)}; send application/json`);
}

/** Whatever was thrown, as a registered error (GL_ERR_INTERNAL for anything unexpected). */
function toGlError(err: FastifyError, request: FastifyRequest): GlError {
  if (err instanceof GlError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    // Only the first MAX_FIELD_ERRORS issues become field errors; the rest are counted (issue 11, defect 2).
    const validation = err.validation as ZodLikeValidation[];
    const fields = suggestFieldNames(
      fieldErrorsFromValidation(validation.slice(0, MAX_FIELD_ERRORS), err.validationContext),
      request,
      err.validationContext,
    ).slice(0, MAX_FIELD_ERRORS);
    const more = Math.max(0, validation.length - MAX_FIELD_ERRORS);
    const where = err.validationContext === 'body' || !err.validationContext ? 'request body' : err.validationContext;
    const error = new errors.VALIDATION(fields, where);
    if (more > 0) error.message += ` (and ${more} more ${more === 1 ? 'issue' : 'issues'} not listed)`;
    return error;
  }
  const fastify = FASTIFY_ERRORS[err.code];
  if (fastify) return fastify(request);
  // secure-json-parse raises a plain SyntaxError (statusCode 400) for __proto__ / constructor.prototype
  // keys and for JSON that does not parse.
  if (err instanceof SyntaxError || err.name === 'SyntaxError') return new errors.MALFORMED_BODY(err.message);
  const status = err.statusCode ?? 500;
  if (status === 429) return new errors.RATE_LIMITED(err.message);
  if (status >= 400 && status < 500) return new errors.BAD_REQUEST(err.message);
  return new errors.INTERNAL();
}

/**
 * Fastify's `frameworkErrors` option: the errors its router raises before any route or hook runs
 * (a path parameter longer than maxParamLength, a path that is not valid percent-encoding), which
 * fastify would otherwise answer with its own JSON. Both are a bad path parameter: GL_ERR_VALIDATION.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path parameter is longer than the router accepts'
      : 'the path is not valid percent-encoding';
  const error =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH' || err.code === 'FST_ERR_BAD_URL'
      ? new errors.VALIDATION([{ path: 'params', message }], 'params')
      : new errors.BAD_REQUEST(err.message);
  void sendProblem(request, reply, error);
}

/** Installs the problem+json error handler and not-found handler on `app` (call at the root). */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = toGlError(err, request);
    if (error instanceof errors.INTERNAL) request.log.error({ err }, 'unhandled error');
    return sendProblem(request, reply, error);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new errors.ROUTE_NOT_FOUND(`${request.method} ${request.url.split('?')[0]}`)),
  );
}
