/**
 * The client against a real server (see ./server.ts: the repository's server on a real port, or GL_URL): every
 * helper, problem+json as ApiError, and the stream helper through a TCP relay that the test cuts
 * mid-stream — the helper resumes with `from` and every seq arrives exactly once.
 */
import { createServer, Socket as NetSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  createClient,
  type GradientLab,
  type JobEvent,
  type JobSpec,
  type SweepEvent,
} from '../src/index.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * A TCP relay to `port` that cuts each of the first `cuts` WebSocket connections (a network drop:
 * both sockets destroyed, no close frame) once it has relayed `afterBytes` of the server's side.
 */
async function relay(
  port: number,
  cuts: number,
  afterBytes: number,
): Promise<{ port: number; cut: number; close(): Promise<void> }> {
  const state = { port: 0, cut: 0, close: async () => {} };
  const live = new Set<NetSocket>();
  const server = createServer((client) => {
    const upstream = new NetSocket();
    upstream.connect(port, '127.0.0.1');
    live.add(client).add(upstream);
    // A kept-alive connection may carry plain requests before the WebSocket upgrade.
    let websocket = false;
    let relayed = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (/^GET [^ ]*\/stream\?/.test(chunk.toString('latin1', 0, 200))) {
        websocket = true;
        relayed = 0;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      relayed += chunk.length;
      if (websocket && relayed >= afterBytes && state.cut < cuts) {
        state.cut += 1;
        websocket = false;
        end();
      }
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      // Kept-alive client connections would hold server.close() open.
      for (const s of live) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

let server: TestServer;
let gl: GradientLab;
let base: string;

const quick: JobSpec = {
  name: 'ts client',
  seed: 3,
  network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1.2 } },
  training: { steps: 30 },
};

beforeAll(async () => {
  server = await startTestServer();
  base = server.url;
  gl = createClient({ baseUrl: base });
});

afterAll(async () => {
  await server?.stop();
});

describe('requests', () => {
  it('submits a preset, follows it to done, reads the result as JSON and CSV', async () => {
    const catalogue = await gl.presets();
    const preset = catalogue.presets[0]!;
    const job = await gl.submit(preset.spec);
    expect(job.status).toMatch(/queued|running/);
    const events: JobEvent[] = [];
    for await (const e of gl.follow('job', job.id)) events.push(e);
    expect(events.at(-1)!.type).toBe('done');
    const result = await gl.result(job.id);
    expect(result.job.status).toBe('succeeded');
    expect(result.series.steps.length).toBeGreaterThan(0);
    const csv = await gl.resultCsv(job.id);
    expect(csv.split('\n')[0]).toMatch(/^step,/);
    expect((await gl.job(job.id)).id).toBe(job.id);
    expect((await gl.jobs({ limit: 5 })).items.map((j) => j.id)).toContain(job.id);
  });

  it('answers problem+json as ApiError with the code, the status and the fields', async () => {
    const missing = await gl.job('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'GL_ERR_JOB_NOT_FOUND' });
    const invalid = await gl
      .submit({ network: { kind: 'mlp', depth: 0, width: 4 } } as JobSpec)
      .catch((e: unknown) => e as ApiError);
    expect(invalid).toMatchObject({ status: 400, code: 'GL_ERR_VALIDATION' });
    expect((invalid as ApiError).errors.map((f) => f.path)).toContain('network.depth');
    const job = await gl.submit(quick);
    for await (const _ of gl.follow('job', job.id));
    const ended = await gl.cancel(job.id).catch((e: unknown) => e);
    expect(ended).toMatchObject({ status: 409, code: 'GL_ERR_JOB_ENDED' });
    const sweepMissing = await gl.cancelSweep('nope').catch((e: unknown) => e);
    expect(sweepMissing).toMatchObject({ status: 404, code: 'GL_ERR_SWEEP_NOT_FOUND' });
  });

  it('analyses a network: (1.5·I)^4 has spectral norm 1.5^4', async () => {
    const a = await gl.analysis({
      network: { kind: 'linear', depth: 4, width: 3, bias: false, init: { scheme: 'scaled-identity', gain: 1.5 } },
    });
    expect(a.layers).toHaveLength(4);
    expect(a.layers[0]!.shape).toEqual([3, 3]);
    expect(Number(a.products.at(-1)!.spectralNorm)).toBeCloseTo(1.5 ** 4, 12);
  });

  it('runs a sweep, lists it, and refuses to cancel it once ended', async () => {
    const sweep = await gl.createSweep({
      name: 'ts sweep',
      base: { seed: 5, network: { kind: 'linear', depth: 3, width: 2 }, training: { steps: 10 } },
      axes: [{ path: 'training.learningRate', values: [0.01, 0.1] }],
    });
    const events: SweepEvent[] = [];
    for await (const e of gl.follow('sweep', sweep.id)) events.push(e);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(events.at(-1)!.type).toBe('done');
    const read = await gl.sweep(sweep.id);
    expect(read.cells).toHaveLength(2);
    expect((await gl.sweeps(10)).map((s) => s.id)).toContain(sweep.id);
    await expect(gl.cancelSweep(sweep.id)).rejects.toMatchObject({ code: 'GL_ERR_SWEEP_ENDED' });
  });
});

describe('the stream helper', () => {
  it('resumes after the connection is cut mid-stream: every seq exactly once, then done', async () => {
    // The first two WebSocket connections are cut after 30 kB of events each.
    const net = await relay(Number(new URL(base).port), 2, 30_000);
    try {
      const viaRelay = createClient({ baseUrl: `http://127.0.0.1:${net.port}` });
      const job = await viaRelay.submit({
        name: 'ts resume',
        network: { kind: 'linear', depth: 2, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
        data: { kind: 'synthetic', samples: 4 },
        training: { steps: 20_000, batchSize: 4, learningRate: 1e-6 },
        record: { every: 10 },
      });
      const seqs: number[] = [];
      const reconnects: { from: number; closeCode: number }[] = [];
      for await (const e of viaRelay.follow('job', job.id, {
        onReconnect: (r) => reconnects.push(r),
        retryDelayMs: 50,
      })) {
        seqs.push(e.seq);
      }
      expect(net.cut).toBe(2);
      expect(reconnects).toHaveLength(2);
      for (const r of reconnects) expect(r.closeCode).toBe(1006);
      // Each resume asks for the seq after the last one delivered, and nothing is lost or repeated.
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      const last = await viaRelay.job(job.id);
      expect(seqs.at(-1)).toBe(last.lastSeq);
      expect(reconnects.map((r) => r.from).every((from) => from > 0 && from < seqs.length)).toBe(true);
    } finally {
      await net.close();
    }
  });

  it('starts from `from` when asked', async () => {
    const job = await gl.submit(quick);
    const all: number[] = [];
    for await (const e of gl.follow('job', job.id)) all.push(e.seq);
    const tail: number[] = [];
    for await (const e of gl.follow('job', job.id, { from: 10 })) tail.push(e.seq);
    expect(tail).toEqual(all.slice(10));
  });
});
