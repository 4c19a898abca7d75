/**
 * Piscina worker: runs one simulation and streams its records to the main thread in batches.
 * The engine is synchronous, so batching is decided inside onRecord: a batch leaves when it is
 * full or when it has waited FLUSH_MS, whichever comes first; slow jobs thus still stream live.
 */
import { performance } from 'node:perf_hooks';
import { simulate } from '../engine/index.js';
import type { Series } from '../engine/types.js';
import { type RowShape, rowWidth, type WorkerMessage, type WorkerResult, type WorkerTask } from './protocol.js';

const BATCH_RECORDS = 512;
const FLUSH_MS = 15;

export default function runTask(task: WorkerTask): WorkerResult {
  const { spec, port, stop, maxRecords } = task;
  let shape: RowShape | null = null;
  let width = 0;
  let rows: Float64Array | null = null;
  let n = 0;
  let sent = 0;
  let firstPendingAt = 0;
  // Never allocate more rows than the run can still record: short jobs make short buffers.
  const batchBuffer = () => new Float64Array(Math.max(1, Math.min(BATCH_RECORDS, maxRecords - sent)) * width);

  const post = (msg: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer ?? []);
  const flush = () => {
    if (n === 0 || rows === null) return;
    // The whole buffer moves (no copy); the receiver reads its first n rows.
    post({ t: 'batch', n, rows }, [rows.buffer as ArrayBuffer]);
    sent += n;
    rows = batchBuffer();
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
      post({ t: 'shape', ...shape });
    }
    const r = rows!;
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
      post({ t: 'nonfinite', info });
    },
    shouldStop: () => Atomics.load(stop, 0) !== 0,
  });
  flush();
  post({ t: 'end' });
  port.close();
  return { status: output.status, summary: output.summary };
}
