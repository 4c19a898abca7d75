/**
 * Builds the real app on the real embedded runtime (in-memory store, a small pool) for tests.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export async function buildTestApp(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({ DATA_DIR: ':memory:', WORKERS: '1', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_S: '0', ...env });
  const app = await buildApp(config);
  await app.ready();
  return app;
}

/** A cheap job: a 3-layer linear net with W = 1.5·I, a few steps (explodes mildly, stays finite). */
export function smallSpec(steps = 5, extra: Record<string, unknown> = {}) {
  return {
    name: 'test',
    network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } },
    data: { kind: 'synthetic', samples: 8 },
    training: { steps, batchSize: 8, learningRate: 0.001 },
    ...extra,
  };
}

/** A job that runs long enough to be caught running (cancelled by the tests that use it). */
export function longSpec(steps = 1_000_000) {
  return {
    network: { kind: 'linear', depth: 2, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
    data: { kind: 'synthetic', samples: 4 },
    training: { steps, batchSize: 4, learningRate: 1e-6 },
    record: { every: 1000 },
  };
}

/** A job with big step events (many layers), to fill socket buffers quickly. */
export function wideEventSpec(steps: number) {
  return {
    network: { kind: 'linear', depth: 64, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
    data: { kind: 'synthetic', samples: 4 },
    training: { steps, batchSize: 4, learningRate: 1e-6 },
  };
}

/** Follows the job's NDJSON stream to its end (the `done` event) and returns every event. */
export async function awaitEvents(
  app: FastifyInstance,
  id: string,
  headers: Record<string, string> = {},
  from = 0,
): Promise<Record<string, unknown>[]> {
  const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/events?from=${from}`, headers });
  if (r.statusCode !== 200) throw new Error(`events: ${r.statusCode} ${r.body}`);
  return r.body
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}
