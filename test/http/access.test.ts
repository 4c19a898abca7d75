/**
 * Access control: API keys (no key, wrong key, another key's job), what stays open, CORS
 * allow-list, rate limits, security headers, and logs that never carry a key.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ownerIdOf } from '../../src/http/auth.js';
import { awaitEvents, buildTestApp, smallSpec } from './helper.js';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-9876543210';
const alice = { authorization: `Bearer ${ALICE}` };
const bob = { authorization: `Bearer ${BOB}` };

describe('API keys', () => {
  let app: FastifyInstance;
  const logLines: string[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      DATA_DIR: ':memory:',
      WORKERS: '1',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_S: '0',
      API_KEYS: `${ALICE}, ${BOB}`,
    });
    app = await buildApp(config, { logStream: { write: (line: string) => void logLines.push(line) } });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('requires a bearer key on every /v1 route: 401 problem+json with WWW-Authenticate', async () => {
    for (const [method, url] of [
      ['GET', '/v1/jobs'],
      ['POST', '/v1/jobs'],
      ['GET', '/v1/jobs/x'],
      ['DELETE', '/v1/jobs/x'],
      ['GET', '/v1/jobs/x/result'],
      ['GET', '/v1/jobs/x/events'],
      ['GET', '/v1/jobs/x/stream'],
    ] as const) {
      const r = await app.inject({ method, url, payload: method === 'POST' ? smallSpec(2) : undefined });
      expect(r.statusCode, `${method} ${url}`).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json().code).toBe('GL_ERR_UNAUTHORIZED');
    }
  });

  it('refuses a wrong key and a malformed header', async () => {
    for (const authorization of ['Bearer nope', `Basic ${ALICE}`, `Bearer ${ALICE}x`, 'Bearer', `${ALICE}`]) {
      const r = await app.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization } });
      expect(r.statusCode, authorization).toBe(401);
      expect(r.json().detail).not.toContain(ALICE);
    }
  });

  it('refuses a WebSocket upgrade without a key', async () => {
    await expect(app.injectWS('/v1/jobs/x/stream')).rejects.toThrow(/401/);
  });

  it('keeps each key’s jobs to that key: another key gets 404 everywhere', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/jobs', headers: alice, payload: smallSpec(3) });
    expect(r.statusCode).toBe(202);
    const id = r.json().id;
    const events = await awaitEvents(app, id, alice);
    expect(events.at(-1)?.type).toBe('done');

    expect((await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: alice })).statusCode).toBe(200);
    for (const [method, url] of [
      ['GET', `/v1/jobs/${id}`],
      ['DELETE', `/v1/jobs/${id}`],
      ['GET', `/v1/jobs/${id}/result`],
      ['GET', `/v1/jobs/${id}/events`],
      ['GET', `/v1/jobs/${id}/stream`],
    ] as const) {
      const other = await app.inject({ method, url, headers: bob });
      expect(other.statusCode, `${method} ${url}`).toBe(404);
      expect(other.json().code).toBe('GL_ERR_JOB_NOT_FOUND');
    }
    await expect(app.injectWS(`/v1/jobs/${id}/stream`, { headers: bob })).rejects.toThrow(/404/);
    const bobsList = (await app.inject({ method: 'GET', url: '/v1/jobs', headers: bob })).json();
    expect(bobsList.items.map((j: { id: string }) => j.id)).not.toContain(id);
    const alicesList = (await app.inject({ method: 'GET', url: '/v1/jobs', headers: alice })).json();
    expect(alicesList.items.map((j: { id: string }) => j.id)).toContain(id);
  });

  it('accepts ?access_token= on the stream routes only (browsers cannot set headers on a WebSocket)', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/jobs', headers: alice, payload: smallSpec(2) });
    const id = r.json().id;
    await awaitEvents(app, id, alice);
    const ws = await app.injectWS(`/v1/jobs/${id}/stream?access_token=${encodeURIComponent(ALICE)}`);
    const types: string[] = [];
    await new Promise<void>((resolve) => {
      ws.on('message', (m) => types.push(JSON.parse(String(m)).type));
      ws.on('close', () => resolve());
    });
    expect(types.at(-1)).toBe('done');
    const ndjson = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/events?access_token=${ALICE}` });
    expect(ndjson.statusCode).toBe(200);
    expect(ndjson.body.trim().split('\n').at(-1)).toContain('"done"');
    // Another key's token sees nothing; a wrong token is refused; other routes ignore the parameter.
    await expect(app.injectWS(`/v1/jobs/${id}/stream?access_token=${BOB}`)).rejects.toThrow(/404/);
    await expect(app.injectWS(`/v1/jobs/${id}/stream?access_token=nope`)).rejects.toThrow(/401/);
    const list = await app.inject({ method: 'GET', url: `/v1/jobs?access_token=${ALICE}` });
    expect(list.statusCode).toBe(401);
  });

  it('leaves health, metrics, docs, the contract and the dashboard open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/', '/']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBeLessThan(400);
    }
  });

  it('derives the owner from a hash, never the key, and never logs the key', () => {
    expect(ownerIdOf(ALICE)).toMatch(/^key_[0-9a-f]{24}$/);
    expect(ownerIdOf(ALICE)).not.toBe(ownerIdOf(BOB));
    expect(ownerIdOf(ALICE)).not.toContain(ALICE);
    const all = logLines.join('');
    expect(logLines.length).toBeGreaterThan(10);
    expect(all).not.toContain(ALICE);
    expect(all).not.toContain(BOB);
  });

  it('puts the job id on job routes’ log lines', () => {
    const withJob = logLines.map((l) => JSON.parse(l)).filter((l) => typeof l.jobId === 'string');
    // Request logs of job routes carry both ids (the runtime's own lines carry the job id alone).
    const requestLines = withJob.filter((l) => typeof l.reqId === 'string');
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines.some((l) => l.msg === 'request completed')).toBe(true);
  });
});

describe('CORS', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ CORS_ORIGINS: 'https://lab.example.org' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('allows listed origins, with preflight', async () => {
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/v1/jobs',
      headers: {
        origin: 'https://lab.example.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://lab.example.org');
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    const get = await app.inject({ method: 'GET', url: '/v1/jobs', headers: { origin: 'https://lab.example.org' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://lab.example.org');
  });

  it('gives other origins no CORS headers', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/jobs', headers: { origin: 'https://evil.example.com' } });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is same-origin only when CORS_ORIGINS is empty', async () => {
    const closed = await buildTestApp();
    try {
      const r = await closed.inject({ method: 'GET', url: '/v1/jobs', headers: { origin: 'https://lab.example.org' } });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.close();
    }
  });
});

describe('rate limit and headers', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000', API_KEYS: `${ALICE},${BOB}` });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 429 problem+json with Retry-After past the limit, per key', async () => {
    const codes: number[] = [];
    let last: Awaited<ReturnType<FastifyInstance['inject']>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await app.inject({ method: 'GET', url: '/v1/jobs', headers: alice });
      codes.push(last.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(last!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(last!.json().code).toBe('GL_ERR_RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Another key has its own budget.
    expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: bob })).statusCode).toBe(200);
  });

  it('does not throttle probes', async () => {
    for (let i = 0; i < 6; i++) expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('does not crash on a request without an ip (injected WebSocket)', async () => {
    await expect(app.injectWS('/v1/jobs/x/stream', { headers: bob })).rejects.toThrow(/404/);
  });

  it('sets security headers and a CSP that allows ws: but no inline script', async () => {
    const r = await app.inject({ method: 'GET', url: '/healthz' });
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(/connect-src 'self' ws: wss:/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a tame client request id and replaces anything else', async () => {
    const tame = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'nb-42.run_7' } });
    expect(tame.headers['x-request-id']).toBe('nb-42.run_7');
    const wild = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\n{"level":60}' } });
    expect(wild.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
