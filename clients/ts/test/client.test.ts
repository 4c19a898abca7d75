/**
 * The client against a real server (see ./server.ts: the repository's server on a real port, or GL_URL): every
 * helper, problem+json as ApiError, and the stream helper through a TCP relay that the test cuts
 * mid-stream — the helper resumes with `from` and every seq arrives exactly once.
 */
import { createServer, Socket as NetSocket, type Socket } from 'node:net';
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

/** A TCP relay to `port` whose open connections the test can cut at once (a network drop). */
async function relay(port: number): Promise<{ port: number; drop(): number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const real = createServer((client) => {
    const upstream = new NetSocket();
    upstream.connect(port, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve));
  return {
    port: (real.address() as { port: number }).port,
    drop() {
      const n = open.size;
      for (const s of open) s.destroy();
      open.clear();
      return n;
    },
    close: () => new Promise<void>((resolve) => real.close(() => resolve())),
  };
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
    const cut = await relay(Number(new URL(base).port));
    try {
      const viaRelay = createClient({ baseUrl: `http://127.0.0.1:${cut.port}` });
      const job = await viaRelay.submit({
        name: 'ts resume',
        network: { kind: 'linear', depth: 2, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
        data: { kind: 'synthetic', samples: 4 },
        training: { steps: 20_000, batchSize: 4, learningRate: 1e-6 },
        record: { every: 10 },
      });
      const seqs: number[] = [];
      const reconnects: { from: number; closeCode: number }[] = [];
      let dropped = 0;
      for await (const e of viaRelay.follow('job', job.id, {
        onReconnect: (r) => reconnects.push(r),
        retryDelayMs: 50,
      })) {
        seqs.push(e.seq);
        // Cut twice: early, and again after the resume has delivered more.
        if (seqs.length === 50 || seqs.length === 700) dropped += cut.drop();
      }
      expect(dropped).toBeGreaterThan(0);
      expect(reconnects.length).toBeGreaterThanOrEqual(2);
      // Events already received when the cut was noticed are delivered first: the resume asks for the next one.
      expect(reconnects[0]!.from).toBeGreaterThanOrEqual(50);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      expect(seqs.length).toBeGreaterThan(700);
      const last = await viaRelay.job(job.id);
      expect(seqs.at(-1)).toBe(last.lastSeq);
    } finally {
      await cut.close();
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
