/**
 * The app factory: builds the Fastify app from a config, with the services of the composition
 * root (src/services.ts) or services built by the caller. It never listens; src/server.ts does.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { createKeyRing } from './http/auth.js';
import { clientErrorHandler } from './http/client-errors.js';
import { installJsonParser } from './http/json.js';
import { loggerOptions } from './http/logging.js';
import { opsPlugin } from './http/ops.js';
import openapiPlugin from './http/plugins/openapi.js';
import rateLimitPlugin from './http/plugins/rate-limit.js';
import securityPlugin from './http/plugins/security.js';
import staticPlugin from './http/plugins/static.js';
import websocketPlugin from './http/plugins/websocket.js';
import { frameworkErrors, installProblemHandlers } from './http/problem.js';
import { v1Routes } from './http/v1.js';
import type { JobService } from './runtime/types.js';
import { createServices, type Services } from './services.js';

export { API_VERSION } from './http/plugins/openapi.js';

export interface AppDeps {
  /** Services built by the caller; they are then the caller's to close. */
  services?: Services;
  /** Where log lines go (default stdout); tests read them. */
  logStream?: { write(line: string): void };
}

/** What the app exposes to the server entry (src/server.ts) and to the ops routes. */
export interface AppState {
  readonly services: Services;
  /** The job service (services.jobs). */
  readonly service: JobService;
  /** True once `drain()` was called: /readyz answers 503 and POST /v1/jobs 503. */
  readonly draining: boolean;
  /** Starts shutting down: refuses new jobs from now on. `app.close()` does the rest. */
  drain(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    gl: AppState;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the app; call `await app.ready()` (or inject) before use and `await app.close()` after. */
export async function buildApp(config: AppConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream),
    bodyLimit: config.bodyLimit,
    // A client may pass its own request id for tracing, but only a tame one: it goes into logs.
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // The router's own errors (over-long or badly encoded path parameters) as problem+json too.
    frameworkErrors,
    // Node's HTTP parser errors as problem+json too (http/client-errors.ts).
    clientErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Only JSON bodies: a text/plain spec is a client mistake worth a 415, not a confusing 400.
  installJsonParser(app, config.bodyLimit);
  installProblemHandlers(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
  });

  const ownsServices = deps.services === undefined;
  const services = deps.services ?? (await createServices(config, app.log as unknown as Logger));
  const service = services.jobs;
  // app.close() (src/server.ts on SIGTERM, tests) closes the services this app started.
  app.addHook('onClose', async () => {
    if (ownsServices) await services.close({ graceMs: config.shutdownGraceS * 1000 });
  });

  let draining = false;
  const state: AppState = {
    services,
    service,
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
  };
  app.decorate('gl', state);

  try {
    const keyRing = createKeyRing(config.apiKeys);
    // Each plugin is one file under src/http/plugins/ (fastify-plugin: not encapsulated, so what it
    // adds applies to the whole app). The order matters: the OpenAPI document sees only the routes
    // registered after it.
    await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
    await app.register(rateLimitPlugin, {
      max: config.rateLimitMax,
      windowMs: config.rateLimitWindowMs,
      keyRing,
    });
    await app.register(openapiPlugin);
    await app.register(websocketPlugin);
    await app.register(opsPlugin, { service, isDraining: () => draining });
    await app.register(v1Routes, {
      prefix: '/v1',
      services,
      isDraining: () => draining,
      wsMaxBufferBytes: config.wsMaxBufferBytes,
      wsPingMs: config.wsPingMs,
      wsStallMs: config.wsStallMs,
      keyRing,
    });
    await app.register(staticPlugin);
  } catch (err) {
    // The caller never gets the app, so it cannot close what was started for it.
    if (ownsServices) await services.close({ graceMs: 0 });
    throw err;
  }

  return app;
}
