/**
 * The app factory: builds the Fastify app from a config (and, for tests, a job service built
 * elsewhere). It never listens; src/server.ts does.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { AppConfig } from './config.js';
import { errors } from './errors.js';
import { bearerToken, createKeyRing, redactUrl } from './http/auth.js';
import { installJsonParser } from './http/json.js';
import { pruneUnusedSchemas } from './http/openapi.js';
import { opsPlugin } from './http/ops.js';
import { frameworkErrors, installProblemHandlers } from './http/problem.js';
import type { V1Options } from './http/shared.js';
import { WS_CLOSE } from './http/stream.js';
import { sweepRoutes } from './http/sweeps.js';
import { v1Routes } from './http/v1.js';
import type { JobService } from './runtime/types.js';

export interface AppDeps {
  /** A job service built by the caller; it is then the caller's to close. */
  service?: JobService;
  /** Routes under /v1 that are registered as well (same options as the job routes). */
  extraRoutes?: FastifyPluginAsync<V1Options>[];
  /** Where log lines go (default stdout); tests read them. */
  logStream?: { write(line: string): void };
}

/** What the app exposes to the server entry (src/server.ts) and to the ops routes. */
export interface AppState {
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

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);

export const API_VERSION = '1.0.0';

/** How long shutdown waits for WebSocket clients to acknowledge the 1001 close. */
const WS_CLOSE_WAIT_MS = 1000;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A readable operationId for routes that do not set one, e.g. GET /healthz → getHealthz. */
function operationIdFor(method: string | string[], url: string): string {
  const m = (Array.isArray(method) ? method[0]! : method).toLowerCase();
  const words = url.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  return m + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** Builds the app; call `await app.ready()` (or inject) before use and `await app.close()` after. */
export async function buildApp(config: AppConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      config.logLevel === 'silent'
        ? false
        : {
            level: config.logLevel,
            // Keys must never reach a log line, whichever serializer prints the headers.
            redact: {
              paths: ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization'],
              censor: '[redacted]',
            },
            serializers: {
              // Fastify's own request serializer, with a streamed access_token kept out of the URL.
              req: (req: FastifyRequest) => ({
                method: req.method,
                url: redactUrl(req.url),
                host: req.host,
                remoteAddress: req.ip,
                remotePort: req.socket?.remotePort,
              }),
            },
            ...(deps.logStream ? { stream: deps.logStream } : {}),
          },
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
    frameworkErrors,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Only JSON bodies: a text/plain spec is a client mistake worth a 415, not a confusing 400.
  installJsonParser(app, config.bodyLimit);
  installProblemHandlers(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
  });

  let service: JobService;
  let ownsService = false;
  if (deps.service) {
    service = deps.service;
  } else {
    // Loaded only when needed: a caller passing its own service (another backend, a test) never
    // pulls in the embedded runtime, its worker pool and SQLite.
    const { createEmbeddedRuntime } = await import('./runtime/index.js');
    service = await createEmbeddedRuntime({
      dataDir: config.dataDir,
      workers: config.workers,
      maxQueue: config.maxQueue,
      maxWorkFlops: config.maxWorkFlops,
      maxJobBytes: config.maxJobBytes,
      jobTtlMs: config.jobTtlMs,
      maxJobs: config.maxJobs,
      workerMaxOldGenMb: config.workerMaxOldGenMb,
      logger: app.log.child({ component: 'runtime' }) as never,
    });
    ownsService = true;
  }
  // app.close() (src/server.ts on SIGTERM, tests) closes the service this app started.
  app.addHook('onClose', async () => {
    if (ownsService) await service.close({ graceMs: config.shutdownGraceS * 1000 });
  });

  let draining = false;
  const state: AppState = {
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
      // Empty allow-list: no CORS headers at all, so browsers keep to same-origin.
      origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
      methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['Location', 'Retry-After', 'X-Request-Id'],
      maxAge: 600,
    });

    await app.register(fastifyRateLimit, {
      global: true,
      max: config.rateLimitMax,
      timeWindow: config.rateLimitWindowMs,
      // Probes, metrics, docs and the dashboard's files are not the API: never throttle them.
      allowList: (req: FastifyRequest) => !req.url.startsWith('/v1/') && req.url !== '/v1',
      keyGenerator: (req: FastifyRequest) => {
        const token = bearerToken(req);
        const owner = keyRing.enabled ? keyRing.ownerOf(token) : null;
        if (owner) return owner;
        // req.ip is undefined for injected WebSockets and unix sockets (STACK.md).
        return req.ip ?? req.socket?.remoteAddress ?? 'local';
      },
      errorResponseBuilder: (_req, context) =>
        new errors.RATE_LIMITED(`${context.max} requests per ${context.after}; retry after the Retry-After seconds`),
    });

    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Gradient Lab',
          version: API_VERSION,
          description:
            'Train small neural networks in worker threads and watch, step by step and layer by layer, how their gradients explode or vanish, and what each mitigation does about it. Errors are application/problem+json (RFC 9457). Non-finite numbers travel as the strings "NaN", "Infinity", "-Infinity".',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        servers: [{ url: '/', description: 'This server' }],
        tags: [
          { name: 'jobs', description: 'Simulation jobs' },
          { name: 'streams', description: 'Live event streams (WebSocket, NDJSON)' },
          { name: 'analysis', description: 'Analysis of a network at initialization, and ready-made scenarios' },
          { name: 'ops', description: 'Health and metrics (outside /v1, never behind API keys)' },
        ],
        components: {
          securitySchemes: {
            apiKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'Required on /v1 when the server has API_KEYS configured.',
            },
          },
        },
      },
      transform: (doc) => {
        const out = jsonSchemaTransform(doc);
        const schema = out.schema as Record<string, unknown>;
        // /v1 takes the bearer key when keys are configured (hence the empty alternative); the rest is open.
        schema['security'] = doc.url.startsWith('/v1/') ? [{ apiKey: [] }, {}] : [];
        schema['operationId'] ??= operationIdFor(doc.route.method, doc.url);
        return out;
      },
      transformObject: (doc) => pruneUnusedSchemas(jsonSchemaTransformObject(doc) as never),
    });
    await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
    app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send(app.swagger()),
    );

    await app.register(fastifyWebsocket, {
      options: { maxPayload: 64 * 1024 },
      preClose(done) {
        const wss = app.websocketServer;
        const pending: Promise<void>[] = [];
        for (const client of wss.clients) {
          if (client.readyState === client.OPEN) {
            pending.push(new Promise((resolve) => client.once('close', () => resolve())));
            client.close(WS_CLOSE.goingAway, 'server shutting down');
          } else {
            // Already closing: the handshake is done from our side; do not wait on the peer's TCP.
            client.terminate();
          }
        }
        // A client that never answers the close handshake must not hold the shutdown for ws's 30 s
        // close timeout: give the handshakes a moment, then cut what is left.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, WS_CLOSE_WAIT_MS);
        });
        void Promise.race([Promise.all(pending), timeout]).then(() => {
          clearTimeout(timer);
          for (const client of wss.clients) client.terminate();
          wss.close();
          done();
        });
      },
    });

    await app.register(opsPlugin, { service, isDraining: () => draining });

    await app.register(v1Routes, {
      prefix: '/v1',
      service,
      isDraining: () => draining,
      wsMaxBufferBytes: config.wsMaxBufferBytes,
      wsPingMs: config.wsPingMs,
      wsStallMs: config.wsStallMs,
      keyRing,
      extraRoutes: [...(deps.extraRoutes ?? []), sweepRoutes({ dataDir: config.dataDir })],
    });

    const publicDir = path.join(root, 'public');
    if (!existsSync(publicDir)) mkdirSync(publicDir, { recursive: true });
    await app.register(fastifyStatic, { root: publicDir, prefix: '/', index: ['index.html'] });
    await app.register(fastifyStatic, {
      root: path.dirname(require.resolve('uplot/dist/uPlot.esm.js')),
      prefix: '/vendor/uplot/',
      decorateReply: false,
    });
  } catch (err) {
    // The caller never gets the app, so it cannot close what was started for it.
    if (ownsService) await service.close({ graceMs: 0 });
    throw err;
  }

  return app;
}
