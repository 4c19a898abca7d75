/**
 * Issue 11, defect 1: a result is streamed from the stored columns in chunks, never built as one
 * string. The streamed bytes equal the whole-string serializations for every shape the engine
 * records; a large stored result (read from a real SQLite store through the real server on a real
 * socket) arrives complete while /healthz keeps answering in the middle of the transfer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { SeriesJson } from '../../src/contract/events.js';
import { JobSpec } from '../../src/contract/spec.js';
import { seriesToJson, simulate } from '../../src/engine/index.js';
import type { Series } from '../../src/engine/types.js';
import { resultCsvStream, resultJsonStream } from '../../src/http/result-stream.js';
import { newId } from '../../src/runtime/ids.js';
import { SqliteJobStore } from '../../src/runtime/store/sqlite.js';
import { Telemetry } from '../../src/runtime/telemetry.js';

async function text(stream: Readable): Promise<{ body: string; chunks: number }> {
  let body = '';
  let chunks = 0;
  for await (const chunk of stream) {
    body += String(chunk);
    chunks++;
  }
  return { body, chunks };
}

/** The CSV as the route wrote it before streaming: built whole from the JSON series. */
function csvOracle(s: SeriesJson): string {
  const cols: [string, readonly (number | string)[]][] = [
    ['step', s.steps],
    ['loss', s.loss],
    ['gradNorm', s.gradNorm],
    ['clippedGradNorm', s.clippedGradNorm],
    ['lr', s.lr],
    ['paramNorm', s.paramNorm],
  ];
  for (const l of s.layers) {
    cols.push([`${l.name}.gradNorm`, l.gradNorm]);
    if (l.backwardNorm) cols.push([`${l.name}.backwardNorm`, l.backwardNorm]);
    cols.push([`${l.name}.weightNorm`, l.weightNorm], [`${l.name}.updateRatio`, l.updateRatio]);
  }
  const lines = [cols.map((c) => c[0]).join(',')];
  for (let i = 0; i < s.steps.length; i++) lines.push(cols.map((c) => String(c[1][i])).join(','));
  return `${lines.join('\n')}\n`;
}

describe('streamed serializers', () => {
  const cases: [string, unknown][] = [
    ['mlp with layers', { network: { kind: 'mlp', depth: 4, width: 8 }, training: { steps: 3000 } }],
    [
      'linear that overflows (NaN, ±Infinity cells)',
      {
        network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 40 } },
        training: { steps: 50, learningRate: 10, stopOnNonFinite: false },
      },
    ],
    [
      'rnn with hidden-state norms',
      {
        network: { kind: 'rnn', hidden: 3, seqLength: 12 },
        training: { steps: 400 },
        record: { hiddenGradNorms: true },
      },
    ],
    [
      'no layer columns',
      { network: { kind: 'mlp', depth: 2, width: 4 }, training: { steps: 20 }, record: { layers: false } },
    ],
  ];
  it.each(cases)('%s: JSON and CSV equal the whole-string forms byte for byte', async (_, input) => {
    const out = simulate(JobSpec.parse(input));
    const job = { id: 'j', note: 'the job resource is passed through JSON.stringify' };
    const json = await text(resultJsonStream(job, out.summary, out.series));
    expect(json.body).toBe(JSON.stringify({ job, summary: out.summary, series: seriesToJson(out.series) }));
    const csv = await text(resultCsvStream(out.series));
    expect(csv.body).toBe(csvOracle(seriesToJson(out.series)));
  });

  it('cuts a long series into many chunks of bounded size', async () => {
    const out = simulate(JobSpec.parse({ network: { kind: 'mlp', depth: 8, width: 4 }, training: { steps: 20_000 } }));
    const stream = resultJsonStream({}, out.summary, out.series);
    let max = 0;
    let n = 0;
    for await (const chunk of stream) {
      max = Math.max(max, (chunk as Buffer).byteLength);
      n++;
    }
    expect(n).toBeGreaterThan(20);
    // A chunk is ~32 KB plus at most one piece (256 numbers or one CSV block) past the mark.
    expect(max).toBeLessThan(32 * 1024 + 16 * 1024);
  });
});

/** A stored result of `records` records with `layers` recorded layers, written straight into the store. */
async function storeLargeResult(dir: string, records: number, layers: number): Promise<{ id: string; series: Series }> {
  const store = new SqliteJobStore(dir);
  const spec = JobSpec.parse({ network: { kind: 'linear', depth: layers, width: 1 }, training: { steps: records } });
  const columns = 5 + 3 * layers;
  const values = new Float64Array(records * columns);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 1e-3 + i * 1e-9;
  const steps = new Int32Array(records).map((_, i) => i + 1);
  const shape = {
    layerNames: Array.from({ length: layers }, (_, l) => `W${l + 1}`),
    layerCount: layers,
    hiddenLength: 0,
  };
  const blob = {
    shape,
    length: records,
    steps: new Uint8Array(steps.buffer),
    values: new Uint8Array(values.buffer),
    hidden: new Uint8Array(0),
  };
  const now = new Date().toISOString();
  const id = newId();
  const job = {
    id,
    name: 'large',
    status: 'succeeded' as const,
    owner: null,
    sweepId: null,
    spec,
    createdAt: now,
    startedAt: now,
    endedAt: now,
    step: records,
    summary: null,
    error: null,
    lastSeq: records,
    kernels: 'exact' as const,
  };
  await store.insert({ ...job, status: 'queued', endedAt: null, step: 0, lastSeq: -1 });
  await store.finish(job, {
    series: blob,
    nonFinite: null,
    done: { type: 'done', seq: records, status: 'succeeded', summary: null },
  });
  await store.close();
  return { id, series: Telemetry.fromBlob(blob).view() };
}

describe('a large stored result over a real socket', () => {
  let app: FastifyInstance | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'gl-result-'));
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams completely while /healthz answers mid-transfer', async () => {
    // 60,000 records × 11 columns: ~15 MB of JSON.
    const { id, series } = await storeLargeResult(dir, 60_000, 2);
    app = await buildApp(loadConfig({ DATA_DIR: dir, WORKERS: '1', LOG_LEVEL: 'silent', PORT: '0' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };

    let received = 0;
    const parts: Buffer[] = [];
    let healthDuring: number | null = null;
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/v1/jobs/${id}/result` }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toContain('application/json');
        res.on('data', (chunk: Buffer) => {
          parts.push(chunk);
          received += chunk.byteLength;
          // Once the transfer is under way, ask /healthz and pause this reader until it answers.
          if (healthDuring === null && received > 1_000_000) {
            healthDuring = -1;
            res.pause();
            fetch(`http://127.0.0.1:${port}/healthz`).then((h) => {
              healthDuring = h.status;
              res.resume();
            }, reject);
          }
        });
        res.on('end', () => resolve(Buffer.concat(parts).toString()));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    // /healthz answered while the result was still streaming (the reader was paused until it did).
    expect(healthDuring).toBe(200);
    expect(received).toBeGreaterThan(10_000_000);
    const parsed = JSON.parse(body) as { job: { id: string }; series: SeriesJson };
    expect(parsed.job.id).toBe(id);
    expect(parsed.series.steps).toHaveLength(60_000);
    expect(parsed.series.layers[1].updateRatio[59_999]).toBe(series.layerUpdateRatio[1][59_999]);
    expect(parsed.series.loss[43_210]).toBe(series.loss[43_210]);

    const csv = await fetch(`http://127.0.0.1:${port}/v1/jobs/${id}/result?format=csv`);
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).split('\n');
    expect(lines).toHaveLength(60_002);
    expect(lines[60_000].split(',')[0]).toBe('60000');
  }, 120_000);
});
