/**
 * Security headers (helmet, with a CSP for the dashboard) and CORS (an empty allow-list sends no
 * CORS headers at all, so browsers keep to same-origin).
 */
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  corsOrigins: string[];
}

export default fp<SecurityOptions>(
  async (app, opts) => {
    await app.register(fastifyHelmet, {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", 'ws:', 'wss:'],
          objectSrc: ["'none'"],
          frameAncestors: ["'self'"],
          baseUri: ["'self'"],
          // Plain-HTTP deployments (a laptop, a notebook on a LAN) must keep working.
          upgradeInsecureRequests: null,
        },
      },
      // Swagger UI sets its own CSP (with its script hashes) on /docs.
      enableCSPNonces: false,
    });

    await app.register(fastifyCors, {
      origin: opts.corsOrigins.length > 0 ? opts.corsOrigins : false,
      methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['Location', 'Retry-After', 'X-Request-Id'],
      maxAge: 600,
    });
  },
  { name: 'gradient-lab-security' },
);
