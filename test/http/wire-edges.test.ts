/**
 * Issue 11, defects 6 and 8, on a real listening socket: the rate limit keys on the decoded route
 * (`/%76%31/presets` is /v1); WebSocket upgrades switch protocols only on stream routes; Node's
 * HTTP parser errors and the body limit's 413 come back as problem+json and reach the client;
 * /docs sends no `upgrade-insecure-requests`.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helper.js';

let app: FastifyInstance;
let port: number;
beforeAll(async () => {
  app = await buildTestApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
afterAll(() => app.close());

/** Sends raw bytes, resolves with everything the server answered until it closed or went quiet. */
function raw(payload: string | Buffer, quietMs = 1500, to = port): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(to, '127.0.0.1');
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(parts).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    };
    socket.on('data', (c: Buffer) => {
      parts.push(c);
      arm();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err) => (parts.length > 0 ? done() : reject(err)));
    socket.write(payload);
    arm();
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function problemOf(response: string): { status: number; code: string; type: string } {
  expect(response).toMatch(/content-type: application\/problem\+json/i);
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

describe('HTTP parser errors are problem+json', () => {
  it.each([
    [
      'conflicting Content-Length',
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      400,
    ],
    [
      'bad chunked encoding',
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      400,
    ],
    ['a 20 KB header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('%s', async (_, payload, status) => {
    const response = await raw(payload);
    expect(statusOf(response)).toBe(status);
    const problem = problemOf(response);
    expect(problem).toMatchObject({ status, code: 'GL_ERR_BAD_REQUEST' });
    expect(problem.type).toMatch(/^urn:gradient-lab:problem:/);
  });
});

describe('the body limit', () => {
  it('a 5 MB body gets its 413 problem+json, not a reset', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const head = `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const response = await raw(Buffer.concat([Buffer.from(head), body]), 3000);
    expect(statusOf(response)).toBe(413);
    expect(problemOf(response)).toMatchObject({ status: 413, code: 'GL_ERR_BODY_TOO_LARGE' });
  });
});

describe('WebSocket upgrades', () => {
  const upgrade = (path: string) =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

  it.each(['/v1/jobs', '/healthz', '/', '/v1/presets'])('%s answers without switching protocols', async (path) => {
    const response = await raw(upgrade(path));
    expect(statusOf(response)).not.toBe(101);
    expect(statusOf(response)).toBe(400);
    expect(problemOf(response).code).toBe('GL_ERR_BAD_REQUEST');
  });

  it('an unknown path answers without switching protocols', async () => {
    const response = await raw(upgrade('/nowhere'));
    expect([400, 404]).toContain(statusOf(response));
    expect(problemOf(response).status).toBe(statusOf(response));
  });

  it('the stream route switches protocols', async () => {
    const job = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { network: { kind: 'linear', depth: 2, width: 2 }, training: { steps: 3 } },
    });
    const response = await raw(upgrade(`/v1/jobs/${job.json().id}/stream`), 500);
    expect(statusOf(response)).toBe(101);
  });
});

describe('the rate limit keys on the decoded route', () => {
  let limited: FastifyInstance;
  afterAll(() => limited?.close());

  it('percent-encoded /v1 paths are limited like /v1 (3 requests per window here)', async () => {
    limited = await buildTestApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    await limited.listen({ port: 0, host: '127.0.0.1' });
    const to = (limited.server.address() as { port: number }).port;
    const statuses: number[] = [];
    for (const path of ['/v1/presets', '/%76%31/presets', '/v%31/presets', '/%76%31/presets']) {
      statuses.push(statusOf(await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 1500, to)));
    }
    // The encoded paths reach the /v1 route (200) and count against the same window.
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('/docs over plain HTTP', () => {
  it('sends a CSP without upgrade-insecure-requests', async () => {
    for (const url of ['/docs', '/docs/json', '/']) {
      const r = await app.inject({ url });
      const csp = String(r.headers['content-security-policy'] ?? '');
      expect(csp.length).toBeGreaterThan(0);
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  });
});
