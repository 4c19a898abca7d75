import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { JobEvent } from '../../src/contract/events.js';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { seriesToJson } from '../../src/engine/index.js';
import { createEmbeddedRuntime, type EmbeddedJobService, type RuntimeConfig } from '../../src/runtime/index.js';
import { type RowShape, rowWidth } from '../../src/runtime/protocol.js';
import type { ColumnChunk } from '../../src/runtime/telemetry.js';

export const silent = pino({ level: 'silent' });

export function config(over: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return {
    dataDir: null,
    workers: 2,
    maxQueue: 100,
    maxWorkFlops: 1e12,
    maxJobBytes: 1e9,
    jobTtlMs: null,
    maxJobs: null,
    workerMaxOldGenMb: 64,
    logger: silent,
    ...over,
  };
}

/** Runtimes and temp dirs made by a test, closed and removed by `cleanup`. */
export class Fixture {
  private readonly runtimes: EmbeddedJobService[] = [];
  private readonly dirs: string[] = [];

  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'gl-runtime-'));
    this.dirs.push(dir);
    return dir;
  }

  async runtime(over: Partial<RuntimeConfig> = {}): Promise<EmbeddedJobService> {
    const rt = await createEmbeddedRuntime(config(over));
    this.runtimes.push(rt);
    return rt;
  }

  async cleanup(): Promise<void> {
    for (const rt of this.runtimes.splice(0)) await rt.close({ graceMs: 0 });
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export function spec(input: Partial<JobSpecInput> = {}): JobSpec {
  return JobSpec.parse({
    network: { kind: 'linear', depth: 4, width: 2, init: { scheme: 'scaled-identity', gain: 1.1 } },
    training: { steps: 40, learningRate: 0.01 },
    ...input,
  });
}

/** A job long enough to still be running when a test acts on it. */
export function longSpec(steps = 1_000_000): JobSpec {
  return spec({ training: { steps, learningRate: 0.001 } });
}

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Every event of a job from `from` until onEnd. */
export async function collect(rt: EmbeddedJobService, id: string, from = 0): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  const { promise, resolve } = deferred<JobEvent[]>();
  const sub = await rt.subscribe(id, null, { from, onEvent: (e) => events.push(e), onEnd: () => resolve(events) });
  if (!sub) throw new Error(`no job ${id}`);
  return promise;
}

/** Resolves with the first event that satisfies `pred` (and the events seen until then). */
export async function until(
  rt: EmbeddedJobService,
  id: string,
  pred: (e: JobEvent) => boolean,
  from = 0,
): Promise<{ event: JobEvent; seen: JobEvent[] }> {
  const seen: JobEvent[] = [];
  const { promise, resolve, reject } = deferred<{ event: JobEvent; seen: JobEvent[] }>();
  let found = false;
  const sub = await rt.subscribe(id, null, {
    from,
    onEvent(e) {
      if (found) return;
      seen.push(e);
      if (pred(e)) {
        found = true;
        sub?.close();
        resolve({ event: e, seen });
      }
    },
    onEnd: () => found || reject(new Error(`job ${id} ended before the awaited event`)),
  });
  if (!sub) throw new Error(`no job ${id}`);
  return promise;
}

/**
 * Records written by hand as flat rows (the step, the scalar and per-layer columns, then the
 * hidden norms, rowWidth numbers each), turned into the column-order chunk a worker sends.
 */
export function chunkOfRows(shape: RowShape, rows: Float64Array, n: number): ColumnChunk {
  const w = rowWidth(shape);
  const h = shape.hiddenLength;
  const c = w - 1 - h;
  const steps = new Int32Array(n);
  const values = new Float64Array(c * n);
  const hidden = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    steps[i] = rows[i * w];
    for (let k = 0; k < c; k++) values[k * n + i] = rows[i * w + 1 + k];
    hidden.set(rows.subarray(i * w + 1 + c, (i + 1) * w), i * h);
  }
  return { n, steps, values, hidden };
}

/** A job's result with its series in the contract's JSON form (what the HTTP route streams). */
export async function jsonResult(rt: Pick<EmbeddedJobService, 'result'>, id: string, owner: string | null = null) {
  const r = await rt.result(id, owner);
  return r && { ...r, series: seriesToJson(r.series) };
}
