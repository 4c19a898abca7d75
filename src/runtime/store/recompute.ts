/**
 * Recomputes a stored result from its job's spec. Runs are deterministic (bit-identical for the
 * same spec, docs/engine.md), so a result whose checksum fails (integrity.ts) can be rebuilt
 * exactly. The run happens on a thread of its own, never on the event loop: the store has no
 * access to the service's worker pool, and a repair is rare enough that one short-lived extra
 * thread is the simpler choice (docs/ops.md, "A damaged store").
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Summary } from '../../contract/events.js';
import type { NonFiniteMark } from '../event-log.js';
import type { SeriesBlob } from '../telemetry.js';
import { Telemetry } from '../telemetry.js';
import type { StoredJob, StoredResult } from './types.js';

interface Recomputed {
  shape: SeriesBlob['shape'];
  length: number;
  steps: Int32Array;
  values: Float64Array;
  hidden: Float64Array;
  nonFinite: NonFiniteMark | null;
  summary: Summary;
}

/** The job's result as the service stored it, computed again; throws when it cannot be. */
export async function recomputeResult(job: StoredJob): Promise<StoredResult> {
  if (job.status !== 'succeeded' && job.status !== 'cancelled') {
    throw new Error(`a ${job.status} job's result cannot be recomputed (only succeeded and cancelled runs replay)`);
  }
  const done = {
    type: 'done' as const,
    seq: job.lastSeq,
    status: job.status,
    summary: job.summary,
    ...(job.error !== null ? { error: job.error } : {}),
  };
  if (job.step === 0) return { series: Telemetry.empty().toBlob(), nonFinite: null, done };
  const stopAfter = job.step < job.spec.training.steps ? job.step : null;
  const own = import.meta.url;
  const file = new URL(own.endsWith('.ts') ? './recompute-worker.ts' : './recompute-worker.js', own);
  const worker = new Worker(file, {
    workerData: { spec: job.spec, stopAfter },
    execArgv: own.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(own).resolve('tsx')).href] : [],
  });
  const exited = once(worker, 'exit');
  try {
    const [out] = (await Promise.race([
      once(worker, 'message'),
      exited.then(() => Promise.reject(new Error('the recompute thread exited without a result'))),
    ])) as [Recomputed];
    // The summary is stored in the job row, apart from the result: a faithful replay reproduces it.
    if (job.summary !== null && JSON.stringify(out.summary) !== JSON.stringify(job.summary)) {
      throw new Error('the recomputed run does not reproduce the stored summary');
    }
    const bytes = (a: Int32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    return {
      series: {
        shape: out.shape,
        length: out.length,
        steps: bytes(out.steps),
        values: bytes(out.values),
        hidden: bytes(out.hidden),
      },
      nonFinite: out.nonFinite,
      done,
    };
  } finally {
    await worker.terminate();
  }
}
