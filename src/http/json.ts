/**
 * The JSON body parser. Fastify's default one answers every failure with the same "not valid
 * JSON" message; this one says what is wrong (the syntax error, or the forbidden key), so a client
 * can fix its request. Prototype-pollution keys are refused outright rather than stripped: a body
 * that carries them is hostile or broken, and silently changing it would hide that.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';

class ForbiddenKey extends Error {}

function reviver(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ForbiddenKey('forbidden key "__proto__"');
  if (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value) {
    throw new ForbiddenKey('forbidden key "constructor.prototype"');
  }
  return value;
}

export function parseJsonBody(body: string, method = 'POST'): unknown {
  if (body.trim() === '') {
    // Some clients label every request application/json; a DELETE carries nothing to parse.
    if (method === 'DELETE') return undefined;
    throw new errors.MALFORMED_BODY('the body is empty');
  }
  try {
    return JSON.parse(body, reviver);
  } catch (err) {
    throw new errors.MALFORMED_BODY(err instanceof Error ? err.message : String(err));
  }
}

/** Replaces fastify's application/json parser (same body limit) and drops text/plain. */
export function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (req, body, done) => {
    try {
      done(null, parseJsonBody(body as string, req.method));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
