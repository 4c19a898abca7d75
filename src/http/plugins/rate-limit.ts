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

export default fp<RateLimitOptions>(
  async (app, opts) => {
    const { keyRing } = opts;
    await app.register(fastifyRateLimit, {
      global: true,
      max: opts.max,
      timeWindow: opts.windowMs,
      allowList: (req: FastifyRequest) => !req.url.startsWith('/v1/') && req.url !== '/v1',
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
