/**
 * Every error the API answers with is application/problem+json (RFC 9457). This module turns
 * whatever was thrown — a zod validation failure, one of our GL_ERR_ codes, a fastify client
 * error, a bug — into one shape, and never lets a stack trace reach a client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Problem } from '../contract/api.js';
import { errors, type FieldError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/**
 * Field errors listed in one problem at most; the rest are counted in `detail`. A body with 500,000
 * bad array elements once got a 56 MB answer (issue 11, defect 2): the first few say what to fix.
 */
export const MAX_FIELD_ERRORS = 20;

/** Seconds a client should wait before retrying a 503 (queue full, draining). */
const RETRY_AFTER_503_S = 5;

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

/** The {path, message} list a runtime error carries, if any (an `errors` property or a DetailedError cause). */
export function fieldErrorsOf(err: unknown): FieldError[] | undefined {
  const pick = (x: unknown): FieldError[] | undefined => {
    if (typeof x !== 'object' || x === null) return undefined;
    const list = (x as { errors?: unknown }).errors;
    if (!Array.isArray(list)) return undefined;
    return list
      .filter((e): e is { path: unknown; message: unknown } => typeof e === 'object' && e !== null)
      .map((e) => ({
        path: Array.isArray(e.path) ? dotted(e.path) : String(e.path ?? ''),
        message: String(e.message ?? ''),
      }));
  };
  return pick(err) ?? pick((err as { cause?: unknown } | null)?.cause);
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  fieldErrors?: FieldError[],
): FastifyReply {
  const body: Problem = {
    type: problemType(code),
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: String(request.id),
  };
  if (fieldErrors && fieldErrors.length > 0) body.errors = fieldErrors.slice(0, MAX_FIELD_ERRORS);
  if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_503_S));
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

/** Fastify's own client errors, in our codes and with a detail that says what to change. */
const FASTIFY_CODE_MAP: Record<string, { code: string; status: number; detail(req: FastifyRequest): string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'GL_ERR_BODY_TOO_LARGE',
    status: 413,
    detail: (req) => new errors.BODY_TOO_LARGE(String(req.routeOptions.bodyLimit ?? '')).message,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'GL_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, detail: mediaTypeDetail },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'GL_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, detail: mediaTypeDetail },
  FST_ERR_CTP_INVALID_TYPE: { code: 'GL_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, detail: mediaTypeDetail },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'GL_ERR_BAD_REQUEST',
    status: 400,
    detail: () => new errors.BAD_REQUEST('Content-Length does not match the body').message,
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'GL_ERR_MALFORMED_BODY',
    status: 400,
    detail: () => new errors.MALFORMED_BODY('the body is empty').message,
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'GL_ERR_MALFORMED_BODY',
    status: 400,
    detail: () => new errors.MALFORMED_BODY('not valid JSON').message,
  },
};

function mediaTypeDetail(req: FastifyRequest): string {
  const ct = req.headers['content-type'] ?? '(none)';
  return new errors.UNSUPPORTED_MEDIA_TYPE(`${ct.slice(0, 100)}; send application/json`).message;
}

function isGlError(err: FastifyError): boolean {
  return typeof err.code === 'string' && err.code.startsWith('GL_ERR_');
}

/** Installs the problem+json error handler and not-found handler on `app` (call at the root). */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      // Only the first MAX_FIELD_ERRORS issues are turned into field errors; the rest are counted.
      const validation = err.validation as ZodLikeValidation[];
      const fieldErrors = fieldErrorsFromValidation(validation.slice(0, MAX_FIELD_ERRORS), err.validationContext);
      const listed = fieldErrors.slice(0, MAX_FIELD_ERRORS);
      const more =
        validation.length - Math.min(validation.length, MAX_FIELD_ERRORS) + (fieldErrors.length - listed.length);
      const where = err.validationContext === 'body' || !err.validationContext ? 'request body' : err.validationContext;
      const names = [...new Set(listed.map((f) => f.path || '(root)'))].join(', ');
      const tail = more > 0 ? ` (and ${more} more ${more === 1 ? 'issue' : 'issues'} not listed)` : '';
      return sendProblem(request, reply, 400, 'GL_ERR_VALIDATION', `Invalid ${where}: ${names}${tail}`, listed);
    }
    if (isGlError(err)) {
      const status = err.statusCode ?? 500;
      if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
      return sendProblem(request, reply, status, err.code, err.message, fieldErrorsOf(err));
    }
    const mapped = FASTIFY_CODE_MAP[err.code];
    if (mapped) return sendProblem(request, reply, mapped.status, mapped.code, mapped.detail(request));
    // secure-json-parse raises a plain SyntaxError (statusCode 400) for __proto__ / constructor.prototype
    // keys and for JSON that does not parse.
    if (err instanceof SyntaxError || err.name === 'SyntaxError') {
      return sendProblem(request, reply, 400, 'GL_ERR_MALFORMED_BODY', new errors.MALFORMED_BODY(err.message).message);
    }
    const status = err.statusCode ?? 500;
    if (status === 429) {
      return sendProblem(request, reply, 429, 'GL_ERR_RATE_LIMITED', err.message);
    }
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, status, 'GL_ERR_BAD_REQUEST', err.message);
    }
    request.log.error({ err }, 'unhandled error');
    return sendProblem(request, reply, 500, 'GL_ERR_INTERNAL', new errors.INTERNAL().message);
  });

  app.setNotFoundHandler((request, reply) => {
    const detail = new errors.ROUTE_NOT_FOUND(`${request.method} ${request.url.split('?')[0]}`).message;
    return sendProblem(request, reply, 404, 'GL_ERR_ROUTE_NOT_FOUND', detail);
  });
}
