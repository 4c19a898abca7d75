/**
 * A fault inside a handler answers 500 problem+json with no stack, message or path of the fault;
 * the details go to the log under the request id.
 */
import { expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

it('hides internal errors from clients and logs them with the request id', async () => {
  const lines: string[] = [];
  const app = await buildApp(
    loadConfig({ DATA_DIR: ':memory:', WORKERS: '1', LOG_LEVEL: 'error', SHUTDOWN_GRACE_S: '0' }),
    {
      logStream: { write: (l: string) => void lines.push(l) },
    },
  );
  // A route that fails the way a bug would; the rest of the app is the real one.
  app.get('/v1/boom', async () => {
    throw new TypeError('secret detail at /srv/app/src/thing.ts:42');
  });
  try {
    await app.ready();
    const r = await app.inject({ method: 'GET', url: '/v1/boom', headers: { 'x-request-id': 'req-abc' } });
    expect(r.statusCode).toBe(500);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toEqual({
      type: 'urn:gradient-lab:problem:GL_ERR_INTERNAL',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal server error',
      code: 'GL_ERR_INTERNAL',
      instance: '/v1/boom',
      requestId: 'req-abc',
    });
    expect(r.body).not.toContain('secret');
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.reqId === 'req-abc' && l.err);
    expect(logged?.err.message).toContain('secret detail');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});
