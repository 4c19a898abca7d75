/**
 * Optional API keys. With none configured the API is open and every job belongs to everyone
 * (owner null). With keys, every /v1 request needs `Authorization: Bearer <key>`, and a job
 * belongs to the key that created it, identified by a hash so the key itself is never stored
 * or logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import type { Owner } from '../runtime/types.js';
import { sendProblem } from './problem.js';

/** A stable, non-reversible id for an API key: what the store records as the job's owner. */
export function ownerIdOf(key: string): string {
  return `key_${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 24)}`;
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Routes whose clients may be browsers streaming over a WebSocket or EventSource-like fetch. */
const TOKEN_IN_QUERY = /^\/v1\/(jobs|sweeps)\/[^/]+\/(stream|events)$/;

/**
 * `?access_token=` (RFC 6750 §2.3), only on the stream routes: a browser cannot set an
 * Authorization header on a WebSocket. Logged URLs have it removed (see `redactUrl`).
 */
function queryToken(request: FastifyRequest): string | null {
  if (request.method !== 'GET') return null;
  const url = request.url;
  const q = url.indexOf('?');
  if (q < 0 || !TOKEN_IN_QUERY.test(url.slice(0, q))) return null;
  const token = new URLSearchParams(url.slice(q + 1)).get('access_token');
  return token === null || token === '' ? null : token;
}

/** The URL as logs may show it: any access_token value replaced. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}

export interface KeyRing {
  /** True when API keys are configured. */
  readonly enabled: boolean;
  /** The owner id of a valid key, else null. */
  ownerOf(token: string | null): string | null;
}

export function createKeyRing(keys: readonly string[]): KeyRing {
  // Compare digests, not keys: equal lengths for timingSafeEqual, and no early exit on a prefix.
  const digests = keys.map((k) => ({ digest: createHash('sha256').update(k, 'utf8').digest(), owner: ownerIdOf(k) }));
  return {
    enabled: keys.length > 0,
    ownerOf(token) {
      if (token === null) return null;
      const d = createHash('sha256').update(token, 'utf8').digest();
      let owner: string | null = null;
      for (const k of digests) if (timingSafeEqual(k.digest, d)) owner = k.owner;
      return owner;
    },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The job owner for this request (null when API keys are off). Set by the /v1 auth hook. */
    owner: Owner;
  }
}

/** onRequest hook for /v1: 401 problem+json without a valid key; sets `request.owner`. */
export function authHook(ring: KeyRing) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!ring.enabled) {
      request.owner = null;
      return;
    }
    const token = bearerToken(request) ?? queryToken(request);
    const owner = ring.ownerOf(token);
    if (owner === null) {
      reply.header('www-authenticate', 'Bearer realm="gradient-lab"');
      const why = token === null ? 'missing Authorization: Bearer <key> header' : 'unknown API key';
      return sendProblem(request, reply, new errors.UNAUTHORIZED(why));
    }
    request.owner = owner;
  };
}

export interface AuthOptions {
  keyRing: KeyRing;
}
