/** /v1/sweeps through app.inject on the real app and runtime. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { sweepPresets } from '../../src/contract/sweep-presets.js';

let app: FastifyInstance;

beforeAll(async () => {
  const config = loadConfig({ DATA_DIR: ':memory:', WORKERS: '2', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_S: '0' });
  app = await buildApp(config);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const body = (axes: unknown[], steps = 10) => ({
  name: 'http',
  base: {
    seed: 5,
    network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
    training: { steps },
  },
  axes,
});

async function events(id: string, from = 0) {
  const r = await app.inject({ method: 'GET', url: `/v1/sweeps/${id}/events?from=${from}` });
  expect(r.statusCode).toBe(200);
  expect(r.headers['content-type']).toContain('application/x-ndjson');
  return r.body
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

describe('/v1/sweeps', () => {
  it('POST → 202 with links; events end with done; GET gives the grid, CSV gives one row per cell', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([
        { path: 'network.init.gain', values: [0.5, 1.5] },
        { path: 'network.depth', values: [2, 4] },
      ]),
    });
    expect(r.statusCode).toBe(202);
    const sweep = r.json();
    expect(sweep).toMatchObject({ status: 'running', shape: [2, 2], progress: { total: 4 } });
    expect(sweep.links).toEqual({
      self: `/v1/sweeps/${sweep.id}`,
      csv: `/v1/sweeps/${sweep.id}?format=csv`,
      stream: `/v1/sweeps/${sweep.id}/stream`,
      events: `/v1/sweeps/${sweep.id}/events`,
    });
    expect(r.headers.location).toBe(sweep.links.self);

    const all = await events(sweep.id);
    expect(all.map((e) => e.type)).toEqual(['cell', 'cell', 'cell', 'cell', 'done']);
    expect(await events(sweep.id, 2)).toEqual(all.slice(2));

    const grid = (await app.inject({ method: 'GET', url: sweep.links.self })).json();
    expect(grid.status).toBe('succeeded');
    expect(grid.cells).toHaveLength(4);
    // backwardGain = gain^(L−1) (relative 1e-12).
    const gains = grid.cells.map((c: { backwardGain: number }) => c.backwardGain);
    for (const [i, g] of [0.5, 0.125, 1.5, 3.375].entries()) expect(gains[i] / g).toBeCloseTo(1, 12);

    const csv = await app.inject({ method: 'GET', url: sweep.links.csv });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0].startsWith('network.init.gain,network.depth,index,jobId,status,outcome')).toBe(true);
    expect(lines[4]).toMatch(/^1\.5,4,3,[0-9a-z]{29},succeeded,/);

    const list = (await app.inject({ method: 'GET', url: '/v1/sweeps?limit=5' })).json();
    expect(list.items[0]).toMatchObject({ id: sweep.id, status: 'succeeded', progress: { total: 4, done: 4 } });
    expect(list.items[0].cells).toBeUndefined();

    // Each cell is a job of its own, readable through the jobs API.
    const job = await app.inject({ method: 'GET', url: `/v1/jobs/${grid.cells[0].jobId}` });
    expect(job.statusCode).toBe(200);
    expect(job.json().spec.network.depth).toBe(2);
  });

  it('cells keep summaries: a cell’s result (JSON, CSV) and events are recomputed, equal to a keep-series twin; the jobs list leaves cells out', async () => {
    const axes = [{ path: 'network.init.gain', values: [0.5, 1.5] }];
    const lean = (await app.inject({ method: 'POST', url: '/v1/sweeps', payload: body(axes, 30) })).json();
    const full = (
      await app.inject({ method: 'POST', url: '/v1/sweeps', payload: { ...body(axes, 30), keep: 'series' } })
    ).json();
    expect(lean.keep).toBe('summary');
    expect(full.keep).toBe('series');
    await events(lean.id);
    await events(full.id);
    const leanGrid = (await app.inject({ method: 'GET', url: `/v1/sweeps/${lean.id}` })).json();
    const fullGrid = (await app.inject({ method: 'GET', url: `/v1/sweeps/${full.id}` })).json();
    for (const i of [0, 1]) {
      const a = leanGrid.cells[i];
      const b = fullGrid.cells[i];
      expect(b.trace).toBeNull();
      expect(a.trace.steps[0]).toBe(1);
      expect(a.trace.steps.at(-1)).toBe(30);
      const ra = await app.inject({ method: 'GET', url: `/v1/jobs/${a.jobId}/result` });
      const rb = await app.inject({ method: 'GET', url: `/v1/jobs/${b.jobId}/result` });
      expect(ra.statusCode).toBe(200);
      expect(ra.json().series.steps).toHaveLength(30);
      expect(ra.json().series).toEqual(rb.json().series);
      // The trace is the series at its steps.
      const series = ra.json().series;
      expect(a.trace.loss).toEqual(a.trace.steps.map((step: number) => series.loss[step - 1]));
      const ca = await app.inject({ method: 'GET', url: `/v1/jobs/${a.jobId}/result?format=csv` });
      const cb = await app.inject({ method: 'GET', url: `/v1/jobs/${b.jobId}/result?format=csv` });
      expect(ca.statusCode).toBe(200);
      expect(ca.body.trimEnd().split('\n')).toHaveLength(31);
      expect(ca.body).toBe(cb.body);
      const ea = await app.inject({ method: 'GET', url: `/v1/jobs/${a.jobId}/events` });
      const eb = await app.inject({ method: 'GET', url: `/v1/jobs/${b.jobId}/events` });
      expect(ea.body.split('\n').filter(Boolean)).toHaveLength(31);
      expect(ea.body).toBe(eb.body);
    }

    // The jobs list is the user's own runs: no cells unless asked for.
    const single = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { network: { kind: 'linear', depth: 2, width: 2 }, training: { steps: 5 } },
    });
    expect(single.statusCode).toBe(202);
    const cellIds = new Set([...leanGrid.cells, ...fullGrid.cells].map((c: { jobId: string }) => c.jobId));
    const mine = (await app.inject({ method: 'GET', url: '/v1/jobs?limit=100' })).json();
    expect(mine.items.map((j: { id: string }) => j.id)).toContain(single.json().id);
    expect(mine.items.filter((j: { id: string }) => cellIds.has(j.id))).toEqual([]);
    const cells = (await app.inject({ method: 'GET', url: `/v1/jobs?sweep=${lean.id}` })).json();
    expect(new Set(cells.items.map((j: { id: string }) => j.id))).toEqual(
      new Set(leanGrid.cells.map((c: { jobId: string }) => c.jobId)),
    );
    const every = (await app.inject({ method: 'GET', url: '/v1/jobs?cells=include&limit=100' })).json();
    expect(every.items.filter((j: { id: string }) => cellIds.has(j.id))).toHaveLength(4);
  });

  it('422 problem+json naming the axis for a path that does not exist, and the cell for a refused value', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([{ path: 'network.foo', values: [1] }]),
    });
    expect(r.statusCode).toBe(422);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({
      status: 422,
      code: 'GL_ERR_SWEEP_INVALID',
      errors: [{ path: 'axes.0.path', message: expect.stringContaining('network.foo does not exist') }],
    });
    const r2 = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([{ path: 'network.depth', values: [2, -1] }]),
    });
    expect(r2.statusCode).toBe(422);
    expect(r2.json().errors[0]).toMatchObject({ path: 'axes.0.values.1', message: expect.stringMatching(/^cell 1 /) });
    const r3 = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([
        { path: 'seed', values: Array.from({ length: 101 }, (_, i) => i) },
        { path: 'network.init.gain', values: Array.from({ length: 100 }, (_, i) => 1 + i / 100) },
      ]),
    });
    expect(r3.statusCode).toBe(422);
    expect(r3.json().detail).toContain('cell budget');
  });

  it('400 for a malformed request (schema), naming the field', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/sweeps', payload: { base: {}, axes: [] } });
    expect(r.statusCode).toBe(400);
    const paths = r.json().errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('base.network');
    expect(paths).toContain('axes');
  });

  it('DELETE cancels the cells not yet done, then 409; unknown sweep 404', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([{ path: 'seed', values: Array.from({ length: 30 }, (_, i) => i) }], 1_000_000),
    });
    const id = r.json().id;
    const del = await app.inject({ method: 'DELETE', url: `/v1/sweeps/${id}` });
    expect(del.statusCode).toBe(200);
    expect(del.json().progress.byStatus.cancelled).toBeGreaterThan(0);
    const all = await events(id);
    expect(all.at(-1)).toMatchObject({ type: 'done', seq: 30, status: 'cancelled' });
    expect((await app.inject({ method: 'DELETE', url: `/v1/sweeps/${id}` })).statusCode).toBe(409);
    const missing = await app.inject({ method: 'GET', url: '/v1/sweeps/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('GL_ERR_SWEEP_NOT_FOUND');
  });

  it('streams cell events over a WebSocket, resuming from `from`; a plain GET is 426', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: body([{ path: 'seed', values: [1, 2, 3] }]),
    });
    const id = r.json().id;
    const all = await events(id);
    const got: unknown[] = [];
    let closed!: (code: number) => void;
    const closedWith = new Promise<number>((resolve) => {
      closed = resolve;
    });
    await app.injectWS(
      `/v1/sweeps/${id}/stream?from=1`,
      {},
      {
        // Attached before the upgrade completes: the replay is sent at once.
        onInit(ws: WebSocket) {
          ws.on('message', (m) => got.push(JSON.parse(m.toString())));
          ws.on('close', (c) => closed(c));
        },
      },
    );
    const code = await closedWith;
    expect(code).toBe(1000);
    expect(got).toEqual(all.slice(1));
    expect((await app.inject({ method: 'GET', url: `/v1/sweeps/${id}/stream` })).statusCode).toBe(426);
  });

  it('lists the sweep presets; the textbook one runs as a POST body', async () => {
    const list = await app.inject({ method: 'GET', url: '/v1/sweeps/presets' });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((p: { id: string }) => p.id)).toEqual(sweepPresets.map((p) => p.id));
    for (const p of sweepPresets.filter((x) => x.id === 'sweep-textbook')) {
      const r = await app.inject({ method: 'POST', url: '/v1/sweeps', payload: p.request });
      expect(r.statusCode).toBe(202);
      const id = r.json().id;
      const all = await events(id);
      expect(all.at(-1)).toMatchObject({ type: 'done', seq: 84, status: 'succeeded' });
      const grid = (await app.inject({ method: 'GET', url: `/v1/sweeps/${id}` })).json();
      expect(grid.theory).toEqual([expect.objectContaining({ label: 'gain = 1', value: 1 })]);
      const csv = (await app.inject({ method: 'GET', url: `/v1/sweeps/${id}?format=csv` })).body.trimEnd().split('\n');
      expect(csv[0].startsWith('network.init.gain,network.depth,mitigations,mitigations.label,index,')).toBe(true);
      expect(csv[1].startsWith('0.5,1,[],none,0,')).toBe(true);
      expect(csv[2].startsWith('0.5,1,"[{""kind"":""clip-norm"",""maxNorm"":1}]",clip-norm 1,1,')).toBe(true);
      expect(
        grid.cells.filter((c: { firstNonFiniteStep: number | null }) => c.firstNonFiniteStep !== null).length,
      ).toBeGreaterThan(0);
    }
  });

  it('is documented in the OpenAPI document, which stays valid', async () => {
    const doc = app.swagger() as unknown as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    for (const path of ['/v1/sweeps', '/v1/sweeps/{id}', '/v1/sweeps/{id}/stream', '/v1/sweeps/{id}/events'])
      expect(doc.paths[path], path).toBeDefined();
    expect(Object.keys(doc.paths['/v1/sweeps/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    for (const name of [
      'SweepRequestInput',
      'SweepResource',
      'SweepCell',
      'SweepEvent',
      'SweepCellEvent',
      'SweepDoneEvent',
    ])
      expect(Object.keys(doc.components.schemas), name).toContain(name);
    await SwaggerParser.validate(structuredClone(doc) as never);
  });
});

describe('/v1/sweeps with API keys', () => {
  let keyed: FastifyInstance;
  beforeAll(async () => {
    const config = loadConfig({
      DATA_DIR: ':memory:',
      WORKERS: '1',
      LOG_LEVEL: 'silent',
      SHUTDOWN_GRACE_S: '0',
      API_KEYS: 'key-alice,key-bob',
    });
    keyed = await buildApp(config);
    await keyed.ready();
  });
  afterAll(async () => {
    await keyed?.close();
  });

  it('needs a key; another key’s sweep is 404; the events route takes ?access_token=', async () => {
    const payload = body([{ path: 'seed', values: [1, 2] }]);
    expect((await keyed.inject({ method: 'POST', url: '/v1/sweeps', payload })).statusCode).toBe(401);
    const alice = { authorization: 'Bearer key-alice' };
    const r = await keyed.inject({ method: 'POST', url: '/v1/sweeps', payload, headers: alice });
    expect(r.statusCode).toBe(202);
    const id = r.json().id;
    const bob = { authorization: 'Bearer key-bob' };
    expect((await keyed.inject({ method: 'GET', url: `/v1/sweeps/${id}`, headers: bob })).statusCode).toBe(404);
    expect((await keyed.inject({ method: 'DELETE', url: `/v1/sweeps/${id}`, headers: bob })).statusCode).toBe(404);
    const ev = await keyed.inject({ method: 'GET', url: `/v1/sweeps/${id}/events?access_token=key-alice` });
    expect(ev.statusCode).toBe(200);
    expect(ev.body.trimEnd().split('\n').at(-1)).toContain('"type":"done"');
    const grid = (await keyed.inject({ method: 'GET', url: `/v1/sweeps/${id}`, headers: alice })).json();
    // The cells are alice's jobs too.
    const cell = grid.cells[0].jobId;
    expect((await keyed.inject({ method: 'GET', url: `/v1/jobs/${cell}`, headers: alice })).statusCode).toBe(200);
    expect((await keyed.inject({ method: 'GET', url: `/v1/jobs/${cell}`, headers: bob })).statusCode).toBe(404);
  });
});

describe('/v1/sweeps across an app restart (SQLite data dir)', () => {
  it('a sweep closed mid-way finishes after the app is built again on the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gl-sweep-app-'));
    try {
      const env = { DATA_DIR: dataDir, WORKERS: '1', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_S: '0' };
      const first = await buildApp(loadConfig(env));
      await first.ready();
      const r = await first.inject({
        method: 'POST',
        url: '/v1/sweeps',
        payload: body([{ path: 'seed', values: [1, 2, 3, 4] }], 5000),
      });
      expect(r.statusCode).toBe(202);
      const id = r.json().id;
      await first.close();

      const second = await buildApp(loadConfig(env));
      try {
        await second.ready();
        const all = (await second.inject({ method: 'GET', url: `/v1/sweeps/${id}/events` })).body
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(all.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
        expect(all.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
        const grid = (await second.inject({ method: 'GET', url: `/v1/sweeps/${id}` })).json();
        expect(grid.cells.map((c: { status: string }) => c.status)).toEqual(Array(4).fill('succeeded'));
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
