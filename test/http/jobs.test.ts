/**
 * The job API end to end on the real runtime: submit → stream every step → done; replay for late
 * subscribers; reconnect with `from`; cancel over DELETE and over the socket; result as JSON and
 * CSV; pagination; queue full.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { awaitEvents, buildTestApp, longSpec, smallSpec } from './helper.js';

type Ev = Record<string, unknown> & { type: string; seq: number };

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp({ WORKERS: '2' });
});
afterAll(async () => {
  await app.close();
});

interface WsRun {
  ws: WebSocket;
  events: Ev[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves at the first event that satisfies `pred`. */
  until(pred: (e: Ev) => boolean): Promise<Ev>;
}

/** Opens the job's WebSocket with listeners attached before the first message can arrive. */
async function openStream(path: string): Promise<WsRun> {
  const events: Ev[] = [];
  const waiters: { pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  let closed!: Promise<{ code: number; reason: string }>;
  const ws = await app.injectWS(
    path,
    {},
    {
      onInit(socket: WebSocket) {
        socket.on('message', (data) => {
          const e = JSON.parse(String(data)) as Ev;
          events.push(e);
          for (const w of waiters.splice(0)) {
            if (w.pred(e)) w.resolve(e);
            else waiters.push(w);
          }
        });
        closed = new Promise((resolve) =>
          socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
        );
      },
    },
  );
  return {
    ws,
    events,
    closed,
    until: (pred) => {
      const hit = events.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

async function submit(spec: unknown): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: spec as object });
  expect(r.statusCode, r.body).toBe(202);
  return r.json().id;
}

function expectContiguous(events: Ev[], from = 0) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => from + i));
}

describe('submit, stream, result', () => {
  let id: string;
  let live: Ev[];

  it('POST answers 202 with the job and its links', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(12) });
    expect(r.statusCode).toBe(202);
    const job = r.json();
    id = job.id;
    expect(r.headers.location).toBe(`/v1/jobs/${id}`);
    expect(job.status).toMatch(/queued|running/);
    expect(job.spec.training.steps).toBe(12);
    expect(job.spec.training.optimizer).toBe('sgd');
    expect(job.links).toEqual({
      self: `/v1/jobs/${id}`,
      result: `/v1/jobs/${id}/result`,
      csv: `/v1/jobs/${id}/result?format=csv`,
      events: `/v1/jobs/${id}/events`,
      stream: `/v1/jobs/${id}/stream`,
    });
    expect(job).not.toHaveProperty('owner');
  });

  it('streams every step over the WebSocket, then done, then closes with 1000', async () => {
    const run = await openStream(`/v1/jobs/${id}/stream`);
    const { code } = await run.closed;
    expect(code).toBe(1000);
    live = run.events;
    const steps = live.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(live.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
    expectContiguous(live);
  });

  it('gives a late subscriber the full replay, identical', async () => {
    const run = await openStream(`/v1/jobs/${id}/stream`);
    expect((await run.closed).code).toBe(1000);
    expect(run.events).toEqual(live);
  });

  it('continues a reconnect with from=k exactly once and in order', async () => {
    for (const k of [1, 5, 12, 13, 40]) {
      const run = await openStream(`/v1/jobs/${id}/stream?from=${k}`);
      // Past the end of an ended job there is nothing to send: a normal close, not "come back later".
      expect((await run.closed).code).toBe(1000);
      expect(run.events).toEqual(live.slice(k));
    }
  });

  it('serves the same events as NDJSON, with from', async () => {
    expect(await awaitEvents(app, id)).toEqual(live);
    expect(await awaitEvents(app, id, {}, 7)).toEqual(live.slice(7));
  });

  it('returns the job, its summary and the columnar series', async () => {
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/result` });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.job.status).toBe('succeeded');
    expect(body.summary).toEqual(body.job.summary);
    expect(body.series.steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const steps = live.filter((e) => e.type === 'step') as unknown as {
      loss: number;
      layers: { gradNorm: number }[];
    }[];
    expect(body.series.loss).toEqual(steps.map((e) => e.loss));
    expect(body.series.layers.map((l: { name: string }) => l.name)).toEqual(['W1', 'W2', 'W3']);
    expect(body.series.layers[2].gradNorm).toEqual(steps.map((e) => e.layers[2]!.gradNorm));
  });

  it('returns the result as CSV: one row per recorded step, one column per layer norm', async () => {
    const json = (await app.inject({ method: 'GET', url: `/v1/jobs/${id}/result` })).json();
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/result?format=csv` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toHaveLength(13);
    const header = lines[0]!.split(',');
    expect(header.slice(0, 6)).toEqual(['step', 'loss', 'gradNorm', 'clippedGradNorm', 'lr', 'paramNorm']);
    expect(header).toContain('W3.gradNorm');
    // Per layer: gradNorm, then the backward signal ‖∂L/∂z_l‖, weightNorm, updateRatio.
    expect(header.slice(6, 10)).toEqual(['W1.gradNorm', 'W1.backwardNorm', 'W1.weightNorm', 'W1.updateRatio']);
    expect(header).toHaveLength(6 + 4 * 3);
    const row5 = lines[5]!.split(',');
    expect(Number(row5[0])).toBe(5);
    expect(Number(row5[1])).toBe(json.series.loss[4]);
    expect(Number(row5[header.indexOf('W2.weightNorm')])).toBe(json.series.layers[1].weightNorm[4]);
    expect(Number(row5[header.indexOf('W2.backwardNorm')])).toBe(json.series.layers[1].backwardNorm[4]);
  });

  it('writes non-finite values as NaN / Infinity strings in every format', async () => {
    // lr 10 on 1.5·I, depth 3: the loss runs to Infinity within a few dozen steps (float64).
    const spec = smallSpec(300, { training: { steps: 300, batchSize: 8, learningRate: 10 } });
    const nid = await submit(spec);
    const events = await awaitEvents(app, nid);
    const nonfinite = events.find((e) => e.type === 'nonfinite');
    expect(nonfinite, JSON.stringify(events.at(-1))).toBeDefined();
    const csv = (await app.inject({ method: 'GET', url: `/v1/jobs/${nid}/result?format=csv` })).body;
    expect(csv).toMatch(/,(NaN|Infinity|-Infinity)(,|\n)/);
    const result = (await app.inject({ method: 'GET', url: `/v1/jobs/${nid}/result` })).json();
    expect(JSON.stringify(result.series)).toMatch(/"(NaN|Infinity|-Infinity)"/);
  });
});

describe('cancel', () => {
  it('over DELETE: the stream ends with done/cancelled; a second DELETE is 409', async () => {
    const id = await submit(longSpec());
    const run = await openStream(`/v1/jobs/${id}/stream`);
    await run.until((e) => e.type === 'step');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/^gradient_lab_websocket_clients (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const r = await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().id).toBe(id);
    const done = await run.until((e) => e.type === 'done');
    expect(done.status).toBe('cancelled');
    expect((await run.closed).code).toBe(1000);
    const again = await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('GL_ERR_JOB_ENDED');
    expect((await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json().status).toBe('cancelled');
  });

  it('over the socket with {"type":"cancel"}, sent as the first message', async () => {
    const id = await submit(longSpec());
    const run = await openStream(`/v1/jobs/${id}/stream`);
    run.ws.send(JSON.stringify({ type: 'cancel' }));
    const done = await run.until((e) => e.type === 'done');
    expect(done.status).toBe('cancelled');
    expect((await run.closed).code).toBe(1000);
  });
});

describe('list', () => {
  it('pages with a cursor and filters by status', async () => {
    const ids = [await submit(smallSpec(2)), await submit(smallSpec(2)), await submit(smallSpec(2))];
    for (const id of ids) await awaitEvents(app, id);
    const seen: string[] = [];
    let url: string | null = '/v1/jobs?limit=2&status=succeeded';
    let pages = 0;
    while (url) {
      const r: { statusCode: number; body: string; json(): unknown } = await app.inject({ method: 'GET', url });
      expect(r.statusCode, r.body).toBe(200);
      const page: {
        items: { id: string; status: string }[];
        nextCursor: string | null;
        links: { next: string | null };
      } = r.json() as never;
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const j of page.items) expect(j.status).toBe('succeeded');
      seen.push(...page.items.map((j: { id: string }) => j.id));
      url = page.links.next;
      expect(url === null).toBe(page.nextCursor === null);
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(ids));
    const cancelled = (await app.inject({ method: 'GET', url: '/v1/jobs?status=cancelled' })).json();
    for (const j of cancelled.items) expect(j.status).toBe('cancelled');
    expect(cancelled.items.map((j: { id: string }) => j.id)).not.toContain(ids[0]);
  });
});

describe('queue full', () => {
  it('answers 503 problem+json with Retry-After', async () => {
    const small = await buildTestApp({ WORKERS: '1', MAX_QUEUE: '1' });
    try {
      let full: { statusCode: number; headers: Record<string, unknown>; json(): { code: string } } | null = null;
      for (let i = 0; i < 4 && !full; i++) {
        const r = await small.inject({ method: 'POST', url: '/v1/jobs', payload: longSpec() });
        if (r.statusCode === 503) full = r;
        else expect(r.statusCode, r.body).toBe(202);
      }
      expect(full).not.toBeNull();
      expect(full!.json().code).toBe('GL_ERR_QUEUE_FULL');
      expect(Number(full!.headers['retry-after'])).toBeGreaterThan(0);
      expect(String(full!.headers['content-type'])).toMatch(/^application\/problem\+json/);
    } finally {
      await small.close();
    }
  });
});

describe('draining', () => {
  it('refuses new jobs with 503, fails readiness, and interrupts streams with 1001', async () => {
    const own = await buildTestApp({ WORKERS: '1' });
    try {
      const r = await own.inject({ method: 'POST', url: '/v1/jobs', payload: longSpec() });
      const id = r.json().id;
      const events: Ev[] = [];
      let firstStep!: () => void;
      const stepped = new Promise<void>((resolve) => {
        firstStep = resolve;
      });
      let closed!: Promise<number>;
      await own.injectWS(
        `/v1/jobs/${id}/stream`,
        {},
        {
          onInit(socket: WebSocket) {
            socket.on('message', (data) => {
              events.push(JSON.parse(String(data)));
              firstStep();
            });
            closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
          },
        },
      );
      await stepped;
      own.gl.drain();
      expect(own.gl.draining).toBe(true);
      const refused = await own.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(2) });
      expect(refused.statusCode).toBe(503);
      expect(refused.json().code).toBe('GL_ERR_DRAINING');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await own.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      // Reads still work while draining.
      expect((await own.inject({ method: 'GET', url: `/v1/jobs/${id}` })).statusCode).toBe(200);
      await own.gl.service.close({ graceMs: 0 });
      expect(await closed).toBe(1001);
      expect(events.every((e) => e.type !== 'done')).toBe(true);
    } finally {
      await own.close();
    }
  });
});
