/**
 * Piscina worker: runs a task's jobs one after another and streams each job's records to the main
 * thread in batches over the task's MessagePort. The engine is synchronous, so batching is decided
 * inside onRecord: a batch leaves when it is full or when it has waited FLUSH_MS, whichever comes
 * first; slow jobs thus still stream live, and a short job's records leave in one message.
 */

import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import type { Summary } from '../contract/events.js';
import { simulate } from '../engine/index.js';
import type { Series } from '../engine/types.js';
import {
  type RowShape,
  rowWidth,
  stopSlot,
  type WorkerJob,
  type WorkerMessage,
  type WorkerResult,
  type WorkerTask,
  YIELD_SLOT,
} from './protocol.js';

/** Bytes of record rows per message at most (a W1 job's 1,000 records are 288 KB: one message). */
const BATCH_BYTES = 1 << 20;
const FLUSH_MS = 15;

/** Runs one job, posting its records; returns what the engine returned. */
export type JobRunner = (
  job: WorkerJob,
  j: number,
  port: MessagePort,
  flags: Int32Array,
) => { status: 'completed' | 'stopped'; summary: Summary };

export default function runTask(task: WorkerTask): WorkerResult {
  return runJobs(task, runJob);
}

/**
 * The batch loop, shared with test fixtures that swap the runner. Its last message is always
 * `fin`: the main thread waits for it (or for the port to close, should the thread die) to know
 * that every message of the task has arrived.
 */
export function runJobs(task: WorkerTask, run: JobRunner): WorkerResult {
  const { jobs, port, flags } = task;
  const post = (msg: WorkerMessage) => port.postMessage(msg);
  let reported = 0;
  try {
    for (let j = 0; j < jobs.length; j++) {
      // Job 0 always runs (the main thread counts it as running from the start; a stop request
      // stops it at its first step). The others may be handed back or skipped.
      if (j > 0 && Atomics.load(flags, YIELD_SLOT) !== 0) {
        post({ t: 'yield', j });
        return { reported };
      }
      if (j > 0 && Atomics.load(flags, stopSlot(j)) !== 0) {
        post({ t: 'skip', j });
        reported++;
        continue;
      }
      post({ t: 'start', j });
      try {
        const { status, summary } = run(jobs[j], j, port, flags);
        post({ t: 'end', j, status, summary });
      } catch (err) {
        post({ t: 'fail', j, message: err instanceof Error ? err.message || err.name : String(err) });
      }
      reported++;
    }
    return { reported };
  } finally {
    post({ t: 'fin', j: -1 });
    port.close();
  }
}

/** The production runner: the engine, its records flattened into rows (protocol.ts). */
export function runJob(job: WorkerJob, j: number, port: MessagePort, flags: Int32Array): ReturnType<JobRunner> {
  const { spec, maxRecords } = job;
  let shape: RowShape | null = null;
  let width = 0;
  let rows: Float64Array | null = null;
  let n = 0;
  let sent = 0;
  let firstPendingAt = 0;
  // Never allocate more rows than the run can still record: short jobs make short buffers.
  const batchBuffer = () =>
    new Float64Array(Math.max(1, Math.min(Math.floor(BATCH_BYTES / (8 * width)), maxRecords - sent)) * width);

  const flush = () => {
    if (n === 0 || rows === null) return;
    // The whole buffer moves (no copy); the receiver reads its first n rows.
    port.postMessage({ t: 'batch', j, n, rows } satisfies WorkerMessage, [rows.buffer as ArrayBuffer]);
    sent += n;
    rows = sent < maxRecords ? batchBuffer() : null;
    n = 0;
  };

  const onRecord = (series: Series, index: number) => {
    if (shape === null) {
      shape = {
        layerNames: [...series.layerNames],
        layerCount: series.layerGradNorm.length,
        hiddenLength: series.hiddenGradNorms?.[index]?.length ?? 0,
      };
      width = rowWidth(shape);
      rows = batchBuffer();
      port.postMessage({ t: 'shape', j, ...shape } satisfies WorkerMessage);
    }
    rows ??= batchBuffer();
    const r = rows;
    let o = n * width;
    r[o++] = series.steps[index];
    r[o++] = series.loss[index];
    r[o++] = series.gradNorm[index];
    r[o++] = series.clippedGradNorm[index];
    r[o++] = series.lr[index];
    r[o++] = series.paramNorm[index];
    for (let l = 0; l < shape.layerCount; l++) {
      r[o++] = series.layerGradNorm[l][index];
      r[o++] = series.layerWeightNorm[l][index];
      r[o++] = series.layerUpdateRatio[l][index];
    }
    if (shape.hiddenLength > 0) {
      r.set(series.hiddenGradNorms![index].subarray(0, shape.hiddenLength), o);
    }
    if (n === 0) firstPendingAt = performance.now();
    n++;
    if ((n + 1) * width > r.length || performance.now() - firstPendingAt >= FLUSH_MS) flush();
  };

  const output = simulate(spec, {
    onRecord,
    // The step event of the non-finite step must reach the main thread before the nonfinite event.
    onNonFinite(info) {
      flush();
      port.postMessage({ t: 'nonfinite', j, info } satisfies WorkerMessage);
    },
    shouldStop: () => Atomics.load(flags, stopSlot(j)) !== 0,
  });
  flush();
  return { status: output.status, summary: output.summary };
}
