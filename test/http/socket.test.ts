/**
 * Over a real listening socket with a `ws` client: a consumer that stops reading is cut off with
 * 1013 while another keeps streaming, and resumes losslessly with `from`; shutdown closes with 1001.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildTestApp, wideEventSpec } from './helper.js';

type Ev = { type: string; seq: number; status?: string };

const MAX_BUFFER = 64 * 1024;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = await buildTestApp({ WORKERS: '1', WS_MAX_BUFFER_BYTES: String(MAX_BUFFER), WS_STALL_MS: '1000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
});

interface Client {
  ws: WebSocket;
  events: Ev[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(path: string): Client {
  const ws = new WebSocket(`ws://${base}${path}`);
  const events: Ev[] = [];
  ws.on('message', (data) => events.push(JSON.parse(String(data))));
  return {
    ws,
    events,
    opened: new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }))),
  };
}

async function submit(spec: unknown): Promise<string> {
  const r = await fetch(`http://${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

describe('a slow consumer', () => {
  it('is closed with 1013 while a fast one streams to done, and resumes with from', async () => {
    // ~6.6 kB per event × 2000 steps ≈ 13 MB: more than loopback socket buffers hold (~4 MB here).
    const steps = 2000;
    const id = await submit(wideEventSpec(steps));
    const slow = connect(`/v1/jobs/${id}/stream`);
    await slow.opened;
    // Stop reading at the TCP level: the kernel buffers fill, then the server's send buffer grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const fast = connect(`/v1/jobs/${id}/stream`);

    const fastClose = await fast.closed;
    expect(fastClose.code).toBe(1000);
    expect(fast.events).toHaveLength(steps + 1);
    expect(fast.events.map((e) => e.seq)).toEqual(fast.events.map((_, i) => i));
    expect(fast.events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });

    // The server gives up on the slow reader WS_STALL_MS after its buffer filled; wait until it has
    // (its side of the socket is closing) before reading again, or the reader would just catch up.
    const clients = app.websocketServer.clients;
    await vi.waitFor(
      () => {
        expect(clients.size).toBe(1);
        expect([...clients].every((c) => c.readyState === c.CLOSING)).toBe(true);
      },
      { timeout: 20_000, interval: 20 },
    );
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const slowClose = await slow.closed;
    expect(slowClose.code).toBe(1013);
    const got = slow.events.length;
    expect(got).toBeLessThan(steps + 1);
    expect(slow.events).toEqual(fast.events.slice(0, got));
    expect(slowClose.reason).toBe(`slow consumer: reconnect with from=${got}`);

    const again = connect(`/v1/jobs/${id}/stream?from=${got}`);
    expect((await again.closed).code).toBe(1000);
    expect([...slow.events, ...again.events]).toEqual(fast.events);
  });
});

describe('NDJSON over a real socket', () => {
  it('streams the same events with backpressure to a reader that pauses', async () => {
    const steps = 1500;
    const id = await submit(wideEventSpec(steps));
    const r = await fetch(`http://${base}/v1/jobs/${id}/events`);
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const reader = r.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      // Read slowly at first so the server's buffer fills and the stream has to pause and resume.
      if (++chunks < 20) await new Promise((resolve) => setImmediate(resolve));
    }
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    expect(events).toHaveLength(steps + 1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
  });
});

describe('a stuck NDJSON reader', () => {
  it('is cut off after WS_STALL_MS with a full buffer, and a reconnect with from completes the stream', async () => {
    const own = await buildTestApp({ WORKERS: '1', WS_MAX_BUFFER_BYTES: '65536', WS_STALL_MS: '200' });
    try {
      await own.listen({ port: 0, host: '127.0.0.1' });
      const port = (own.server.address() as AddressInfo).port;
      const steps = 1500;
      const id = (await own.inject({ method: 'POST', url: '/v1/jobs', payload: wideEventSpec(steps) })).json().id;
      // A raw request whose response is never read: after the kernel buffers, the stream's buffer fills.
      const req = http.get({ host: '127.0.0.1', port, path: `/v1/jobs/${id}/events`, agent: false });
      const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
      res.pause();
      const connections = () =>
        new Promise<number>((resolve, reject) => own.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      await vi.waitFor(async () => expect(await connections()).toBe(0), { timeout: 20_000, interval: 20 });
      // What did arrive is a prefix, in order, without `done`.
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => {});
      res.resume();
      await new Promise((resolve) => res.once('close', resolve));
      const lines = Buffer.concat(chunks).toString('utf8').split('\n');
      const complete = lines.slice(0, -1).map((l) => JSON.parse(l) as Ev);
      expect(complete.length).toBeLessThan(steps + 1);
      expect(complete.map((e) => e.seq)).toEqual(complete.map((_, i) => i));
      const rest = await own.inject({ method: 'GET', url: `/v1/jobs/${id}/events?from=${complete.length}` });
      const tail = rest.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Ev);
      expect(tail[0]?.seq).toBe(complete.length);
      expect(tail.at(-1)).toMatchObject({ type: 'done', seq: steps });
    } finally {
      await own.close();
    }
  });
});

describe('keep-alive and shutdown', () => {
  it('drops a client that stops answering pings', async () => {
    const own = await buildTestApp({ WORKERS: '1', WS_PING_MS: '100' });
    try {
      await own.listen({ port: 0, host: '127.0.0.1' });
      const port = (own.server.address() as AddressInfo).port;
      const r = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...wideEventSpec(1_000_000), record: { every: 100_000 } }),
      });
      const { id } = (await r.json()) as { id: string };
      // A dead peer: it never answers a ping, so the server must terminate the connection (1006, no close frame).
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/jobs/${id}/stream`, { autoPong: false });
      let pings = 0;
      ws.on('ping', () => pings++);
      const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
      expect(code).toBe(1006);
      expect(pings).toBeGreaterThanOrEqual(1);
    } finally {
      await own.close();
    }
  });

  it('closes open streams with 1001 when the app closes', async () => {
    const own = await buildTestApp({ WORKERS: '1', WS_PING_MS: '100' });
    await own.listen({ port: 0, host: '127.0.0.1' });
    const port = (own.server.address() as AddressInfo).port;
    const r = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...wideEventSpec(1_000_000), record: { every: 100_000 } }),
    });
    const { id } = (await r.json()) as { id: string };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/jobs/${id}/stream`);
    const pinged = new Promise<void>((resolve) => ws.once('ping', () => resolve()));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await pinged;
    await own.close();
    expect(await closed).toBe(1001);
  });
});
