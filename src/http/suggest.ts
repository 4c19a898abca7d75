/**
 * The HTTP side of "did you mean …?" (src/suggest.ts): the route's own zod schema for the part of
 * the request that failed validation, and that part's value, so a 400's field errors name the
 * nearest field or option (docs/api.md "Validation errors").
 */
import type { FastifyRequest } from 'fastify';
import { type FieldError, withSuggestions } from '../suggest.js';

const PARTS = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' } as const;

export function suggestFieldNames(
  errors: FieldError[],
  request: FastifyRequest,
  context: string | undefined,
): FieldError[] {
  const where = (context ?? 'body') as keyof typeof PARTS;
  if (!(where in PARTS)) return errors;
  const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[where];
  const input = request[PARTS[where]];
  return withSuggestions(errors, schema, input, where === 'body' ? '' : where);
}
