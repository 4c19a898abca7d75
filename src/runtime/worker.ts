/**
 * Piscina worker: runs a task's jobs one after another and streams each job's records to the main
 * thread in batches over the task's MessagePort. The engine is synchronous, so batching is decided
 * inside onRecord: a batch leaves when it is full or when it has waited FLUSH_MS, whichever comes
 * first; slow jobs thus still stream live, and a short job's records leave in one message. A batch
 * is cut from the engine's own columnar series, column by column, so it arrives in the layout the
 * main thread keeps (and stores): the first batch of a job is adopted there without a copy.
 */

import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import type { Summary } from '../contract/events.js';
import { simulate } from '../engine/index.js';
import type { Series } from '../engine/types.js';
import { createWasmBackend } from '../engine/wasm/index.js';
import {
  CLAIMED,
  type RowShape,
  rowWidth,
  STOP,
  stopSlot,
  WAITING,
  type WorkerJob,
  type WorkerMessage,
  type WorkerResult,
  type WorkerTask,
  YIELD_SLOT,
} from './protocol.js';

/** Bytes of records per message at most (a W1 job's 1,000 records are 288 KB: one message). */
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
      if (j > 0 && Atomics.compareExchange(flags, stopSlot(j), WAITING, CLAIMED) !== WAITING) {
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

/** The production runner: the engine, its records sent in column order (telemetry.ts ColumnChunk). */
export function runJob(job: WorkerJob, j: number, port: MessagePort, flags: Int32Array): ReturnType<JobRunner> {
  const { spec } = job;
  let shape: RowShape | null = null;
  let bytesPerRecord = 0;
  let series: Series | null = null;
  // Records [sent, sent + n) of the engine's own columnar series are waiting to leave.
  let sent = 0;
  let n = 0;
  let firstPendingAt = 0;
  let asked = 0;

  const flush = () => {
    if (n === 0 || series === null || shape === null) return;
    const s = series;
    const from = sent;
    const to = sent + n;
    const columns = [
      s.loss,
      s.gradNorm,
      s.clippedGradNorm,
      s.lr,
      s.paramNorm,
      ...Array.from({ length: shape.layerCount }, (_, l) =>
        shape?.backwardNorms
          ? [s.layerGradNorm[l], s.layerWeightNorm[l], s.layerUpdateRatio[l], s.layerBackwardNorm[l]]
          : [s.layerGradNorm[l], s.layerWeightNorm[l], s.layerUpdateRatio[l]],
      ).flat(),
    ];
    const steps = s.steps.slice(from, to);
    const values = new Float64Array(columns.length * n);
    for (let k = 0; k < columns.length; k++) values.set(columns[k].subarray(from, to), k * n);
    const h = shape.hiddenLength;
    const hidden = new Float64Array(n * h);
    if (h > 0) for (let i = 0; i < n; i++) hidden.set(s.hiddenGradNorms![from + i].subarray(0, h), i * h);
    const msg: WorkerMessage = { t: 'batch', j, n, steps, values, hidden };
    // The buffers move (no copy); the main thread adopts or copies them into its own columns.
    port.postMessage(msg, [steps.buffer, values.buffer, hidden.buffer] as ArrayBuffer[]);
    sent = to;
    n = 0;
  };

  const onRecord = (s: Series, index: number) => {
    if (shape === null) {
      shape = {
        layerNames: [...s.layerNames],
        layerCount: s.layerGradNorm.length,
        hiddenLength: s.hiddenGradNorms?.[index]?.length ?? 0,
        backwardNorms: s.layerBackwardNorm.length > 0,
      };
      bytesPerRecord = 8 * rowWidth(shape);
      port.postMessage({ t: 'shape', j, ...shape } satisfies WorkerMessage);
    }
    series = s;
    if (n === 0) firstPendingAt = performance.now();
    n++;
    if (n * bytesPerRecord >= BATCH_BYTES || performance.now() - firstPendingAt >= FLUSH_MS) flush();
  };

  // The job's recorded kernels; the FMA build throws where this runtime lacks relaxed SIMD (the job fails alone).
  const backend = job.kernels === 'fma' ? createWasmBackend({ fma: true }) : undefined;
  const output = simulate(
    spec,
    {
      onRecord,
      // The step event of the non-finite step must reach the main thread before the nonfinite event.
      onNonFinite(info) {
        flush();
        port.postMessage({ t: 'nonfinite', j, info } satisfies WorkerMessage);
      },
      // The engine asks once per step before its last (never on the last nor after a stop for a
      // non-finite value), so the count of calls is the step just computed.
      shouldStop:
        job.stopAfterStep === undefined
          ? () => Atomics.load(flags, stopSlot(j)) === STOP
          : () => ++asked >= (job.stopAfterStep as number) || Atomics.load(flags, stopSlot(j)) === STOP,
    },
    backend === undefined ? {} : { backend },
  );
  flush();
  return { status: output.status, summary: output.summary };
}
