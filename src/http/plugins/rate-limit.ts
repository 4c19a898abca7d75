/**
 * Rate limiting of the API (/v1 only: probes, metrics, docs and the dashboard's files are never
 * throttled), per API key when keys are configured, else per client address.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errors } from '../../errors.js';
import { bearerToken, type KeyRing } from '../auth.js';

export interface RateLimitOptions {
  max: number;
  windowMs: number;
  keyRing: KeyRing;
}

/**
 * Whether the request is for the API, judged on the path the router matched — the route template
 * when one matched, else the percent-decoded path — never on the raw URL: `/%76%31/presets` and
 * `/v%31/…` reach the /v1 routes and must be limited like them (issue 11, defect 6).
 */
export function isApiRequest(req: FastifyRequest): boolean {
  const path = req.routeOptions.url ?? decodedPath(req.url);
  return path === null || path === '/v1' || path.startsWith('/v1/');
}

/** The URL's path, percent-decoded; null when it does not decode (then it counts as API traffic). */
function decodedPath(url: string): string | null {
  const q = url.indexOf('?');
  try {
    return decodeURIComponent(q < 0 ? url : url.slice(0, q));
  } catch {
    return null;
  }
}

export default fp<RateLimitOptions>(
  async (app, opts) => {
    const { keyRing } = opts;
    await app.register(fastifyRateLimit, {
      global: true,
      max: opts.max,
      timeWindow: opts.windowMs,
      allowList: (req: FastifyRequest) => !isApiRequest(req),
      keyGenerator: (req: FastifyRequest) => {
        const token = bearerToken(req);
        const owner = keyRing.enabled ? keyRing.ownerOf(token) : null;
        if (owner) return owner;
        // req.ip is undefined for injected WebSockets and unix sockets.
        return req.ip ?? req.socket?.remoteAddress ?? 'local';
      },
      errorResponseBuilder: (_req, context) =>
        new errors.RATE_LIMITED(`${context.max} requests per ${context.after}; retry after the Retry-After seconds`),
    });
  },
  { name: 'gradient-lab-rate-limit' },
);
