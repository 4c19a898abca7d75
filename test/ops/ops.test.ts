/**
 * /healthz, /readyz and /metrics through the real app and the real embedded runtime (in-memory
 * store, one worker), and their place in the OpenAPI document.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { WAIT } from './process.js';
import { LONG_SPEC, SHORT_SPEC } from './specs.js';

/** One sample of a Prometheus text exposition, e.g. `gradient_lab_jobs{status="succeeded"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ops endpoints', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(loadConfig({ DATA_DIR: ':memory:', WORKERS: '1', LOG_LEVEL: 'silent' }));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('/healthz answers 200 while the process is up', async () => {
    const res = await app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('/readyz answers 200 when the store is writable and the pool is up', async () => {
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', draining: false, service: true });
  });

  it('/metrics exposes jobs by status, queue, running, steps, WebSocket clients, HTTP durations, process', async () => {
    const submitted = await app.inject({ method: 'POST', url: '/v1/jobs', payload: SHORT_SPEC });
    expect(submitted.statusCode).toBe(202);
    const id = submitted.json<{ id: string }>().id;
    // Await the job's end through its own event stream rather than sleeping.
    const events = await app.inject(`/v1/jobs/${id}/events?from=0`);
    expect(events.body.trim().split('\n').pop()).toMatch(/"type":"done"/);
    await app.inject(`/v1/jobs/${id}`);

    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(sample(text, 'gradient_lab_jobs{status="succeeded"}')).toBe(1);
    expect(sample(text, 'gradient_lab_jobs{status="failed"}')).toBe(0);
    expect(sample(text, 'gradient_lab_queue_depth')).toBe(0);
    expect(sample(text, 'gradient_lab_jobs_running')).toBe(0);
    expect(sample(text, 'gradient_lab_workers')).toBe(1);
    // Every step of the one job was computed, once.
    expect(sample(text, 'gradient_lab_steps_computed_total')).toBe(SHORT_SPEC.training!.steps);
    expect(sample(text, 'gradient_lab_websocket_clients')).toBe(0);
    // Labelled by the route template: a job id in a label would grow the series without bound.
    expect(text).toMatch(
      /gradient_lab_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs\/:id",status_code="200"\} [1-9]/,
    );
    expect(text).not.toContain(id);
    expect(text).toMatch(/^gradient_lab_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^gradient_lab_nodejs_heap_size_used_bytes \d/m);
  });

  it('counts WebSocket clients while they are connected', async () => {
    // A real socket: an injected one never completes the TCP close, so the server-side close
    // (and the gauge's decrement) would wait for ws's 30 s close timeout.
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    // A long job, so that the stream is still open when /metrics is read.
    const submitted = await app.inject({ method: 'POST', url: '/v1/jobs', payload: LONG_SPEC });
    const id = submitted.json<{ id: string }>().id;
    const ws = new WebSocket(`${address.replace('http', 'ws')}/v1/jobs/${id}/stream?from=0`);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    const during = (await app.inject('/metrics')).body;
    expect(sample(during, 'gradient_lab_websocket_clients')).toBe(1);
    expect(sample(during, 'gradient_lab_jobs_running')).toBe(1);
    expect(sample(during, 'gradient_lab_jobs{status="running"}')).toBe(1);
    expect((await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode).toBe(200);
    // The server ends the stream after the cancelled job's done event.
    expect(await closed).toBe(1000);
    await vi.waitFor(
      async () => expect(sample((await app.inject('/metrics')).body, 'gradient_lab_websocket_clients')).toBe(0),
      WAIT,
    );
  });

  it('is listed in the OpenAPI document under the ops tag, outside /v1', () => {
    const doc = app.swagger() as { paths: Record<string, { get?: { tags?: string[] } }> };
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(doc.paths[path]?.get?.tags).toContain('ops');
    }
  });

  it('/readyz answers 503 once the app drains, and stays open without an API key', async () => {
    app.gl.drain();
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'draining', draining: true, service: true });
  });
});

describe('ops endpoints with API keys configured', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(loadConfig({ DATA_DIR: ':memory:', WORKERS: '1', LOG_LEVEL: 'silent', API_KEYS: 'k1' }));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('keeps /healthz, /readyz and /metrics open while /v1 needs a key', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics']) expect((await app.inject(url)).statusCode).toBe(200);
    expect((await app.inject('/v1/jobs')).statusCode).toBe(401);
  });
});
