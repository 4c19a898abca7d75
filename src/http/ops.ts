/**
 * Operations endpoints, outside /v1 and open even when API keys are configured: liveness
 * (/healthz), readiness (/readyz) and Prometheus metrics (/metrics).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { JobStatus } from '../contract/events.js';
import { integrityStats } from '../runtime/store/integrity.js';
import type { JobService } from '../runtime/types.js';

export interface OpsOptions {
  service: JobService;
  /** True once the server has started shutting down: /readyz answers 503 from then on. */
  isDraining(): boolean;
}

const PREFIX = 'gradient_lab_';

/**
 * Process-wide metrics that other modules update directly: `wsClients` (inc on WebSocket open,
 * dec on close) and `httpRequestDuration` (filled by this plugin's onResponse hook). They live in
 * one registry per process, because prom-client refuses to register a name twice and tests build
 * several apps in one process; per-service gauges are registered per app instead (see opsPlugin).
 */
export const metrics = (() => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  return {
    registry,
    wsClients: new Gauge({
      name: `${PREFIX}websocket_clients`,
      help: 'WebSocket clients currently connected to a job stream.',
      registers: [registry],
    }),
    httpRequestDuration: new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP request durations, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    // Read from the store's process-wide counters at scrape time (runtime/store/integrity.ts).
    storeResultsDamaged: new Counter({
      name: `${PREFIX}store_results_damaged_total`,
      help: 'Stored results whose checksum failed when read.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(integrityStats.damagedResults);
      },
    }),
    storeResultsRepaired: new Counter({
      name: `${PREFIX}store_results_repaired_total`,
      help: 'Damaged stored results recomputed from their spec and written back.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(integrityStats.repairedResults);
      },
    }),
  };
})();

const Health = z
  .object({ status: z.literal('ok'), uptimeSeconds: z.number() })
  .meta({ id: 'Health', description: 'The process is alive and serving HTTP.' });

const Readiness = z
  .object({
    status: z.enum(['ready', 'draining', 'unavailable']),
    draining: z.boolean(),
    service: z.boolean().describe('The job service says its store is writable and its pool is up.'),
  })
  .meta({ id: 'Readiness' });

/** Gauges read from the job service at scrape time, so they cannot drift from the truth. */
function serviceRegistry(service: JobService): Registry {
  const registry = new Registry();
  const stats = () => {
    try {
      return service.stats();
    } catch {
      // A service that is closing may refuse; a scrape must still answer.
      return null;
    }
  };
  new Gauge({
    name: `${PREFIX}jobs`,
    help: 'Jobs known to the store, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      for (const status of JobStatus.options) this.set({ status }, s.byStatus[status] ?? 0);
    },
  });
  new Gauge({
    name: `${PREFIX}queue_depth`,
    help: 'Jobs waiting for a worker.',
    registers: [registry],
    collect() {
      const s = stats();
      if (s) this.set(s.queued);
    },
  });
  new Gauge({
    name: `${PREFIX}jobs_running`,
    help: 'Jobs running on a worker now.',
    registers: [registry],
    collect() {
      const s = stats();
      if (s) this.set(s.running);
    },
  });
  new Gauge({
    name: `${PREFIX}workers`,
    help: 'Worker threads in the pool.',
    registers: [registry],
    collect() {
      const s = stats();
      if (s) this.set(s.workers);
    },
  });
  // The service counts steps itself; the counter follows it by increments so it stays monotonic.
  let seen = 0;
  new Counter({
    name: `${PREFIX}steps_computed_total`,
    help: 'Training steps computed by the workers since the process started.',
    registers: [registry],
    collect() {
      const s = stats();
      if (s && s.stepsComputed > seen) {
        this.inc(s.stepsComputed - seen);
        seen = s.stepsComputed;
      }
    },
  });
  let tasksSeen = 0;
  new Counter({
    name: `${PREFIX}worker_tasks_total`,
    help: 'Tasks handed to the worker pool since the process started (small jobs share a task).',
    registers: [registry],
    collect() {
      const s = stats();
      if (s && s.tasksStarted > tasksSeen) {
        this.inc(s.tasksStarted - tasksSeen);
        tasksSeen = s.tasksStarted;
      }
    },
  });
  return registry;
}

const plugin: FastifyPluginAsync<OpsOptions> = async (app: FastifyInstance, opts: OpsOptions) => {
  const { service, isDraining } = opts;
  const merged = Registry.merge([metrics.registry, serviceRegistry(service)]);

  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: job ids in labels would grow without bound.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: {
        tags: ['ops'],
        summary: 'Liveness: the process is up.',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: process.uptime() }),
  );

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: {
        tags: ['ops'],
        summary: 'Readiness: store writable, pool up, not draining. 503 otherwise.',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const draining = isDraining();
      let ready = false;
      try {
        ready = await service.ready();
      } catch {
        ready = false;
      }
      const status = draining ? 'draining' : ready ? 'ready' : 'unavailable';
      reply.code(status === 'ready' ? 200 : 503);
      return { status, draining, service: ready } as const;
    },
  );

  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics: jobs by status, queue depth, running jobs, steps, WebSocket clients, HTTP.',
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4.',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      },
    },
    async (_request, reply) => {
      const body = await merged.metrics();
      reply.type(merged.contentType);
      return body;
    },
  );
};

/**
 * Registers /healthz, /readyz and /metrics, and the HTTP duration hook. Not encapsulated
 * (fastify-plugin): the onResponse hook must see every route of the app.
 */
export const opsPlugin = fp(plugin, { name: 'gradient-lab-ops' });
