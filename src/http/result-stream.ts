/**
 * A job's result as a stream of text chunks, built from the stored columns as the client reads
 * them, never as one string (issue 11, defect 1: a 254 MB series serialized whole blocked the event
 * loop for 9–14 s and overflowed V8's string limit). Each chunk is about CHUNK_CHARS characters;
 * the generator runs only when the socket asks for more (Readable.from: backpressure) and yields
 * the event loop after every chunk even to a fast reader, so one request holds the main thread for
 * a couple of milliseconds at a time, whatever the job's size.
 *
 * The bytes are exactly those of `JSON.stringify({ job, summary, series: seriesToJson(series) })`
 * and of `seriesToCsv(seriesToJson(series))` (test/http/result-stream.test.ts compares them).
 */
import { Readable } from 'node:stream';
import type { Summary } from '../contract/events.js';
import type { Series } from '../engine/types.js';

/** Characters per chunk: ~32 KB, ~1,500 numbers (0.5–2 ms to format, the latter on a loaded machine). */
const CHUNK_CHARS = 32 * 1024;
/** Chunks between two deliberate yields to the event loop (1: other requests interleave chunk by chunk). */
const CHUNKS_PER_TURN = 1;

/** A number as JSON writes it (non-finite ones as the contract's strings). */
function jsonNum(x: number): string {
  if (Number.isFinite(x)) return String(x);
  return Number.isNaN(x) ? '"NaN"' : x > 0 ? '"Infinity"' : '"-Infinity"';
}

/** A number as the CSV writes it: String() already spells NaN, Infinity and -Infinity. */
function csvNum(x: number): string {
  return String(x);
}

/** Text pieces in, chunks of about CHUNK_CHARS out, with a yield to the event loop now and then. */
async function* chunked(pieces: Iterable<string>): AsyncGenerator<string> {
  let buf = '';
  let sinceYield = 0;
  for (const piece of pieces) {
    buf += piece;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
      if (++sinceYield >= CHUNKS_PER_TURN) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  if (buf.length > 0) yield buf;
}

function* jsonArray(column: ArrayLike<number>, n: number, num: (x: number) => string): Generator<string> {
  yield '[';
  // Pieces of 256 numbers: few enough generator steps, small enough to keep chunks near their size.
  for (let i = 0; i < n; i += 256) {
    const end = Math.min(n, i + 256);
    let s = i === 0 ? '' : ',';
    for (let k = i; k < end; k++) s += (k === i ? '' : ',') + num(column[k]);
    yield s;
  }
  yield ']';
}

function* seriesJsonPieces(series: Series): Generator<string> {
  const n = series.length;
  const int = (x: number) => String(x);
  yield '{"steps":';
  yield* jsonArray(series.steps, n, int);
  for (const key of ['loss', 'gradNorm', 'clippedGradNorm', 'lr', 'paramNorm'] as const) {
    yield `,"${key}":`;
    yield* jsonArray(series[key], n, jsonNum);
  }
  yield ',"layers":[';
  for (let l = 0; l < series.layerNames.length; l++) {
    yield `${l === 0 ? '' : ','}{"name":${JSON.stringify(series.layerNames[l])},"gradNorm":`;
    yield* jsonArray(series.layerGradNorm[l], n, jsonNum);
    yield ',"weightNorm":';
    yield* jsonArray(series.layerWeightNorm[l], n, jsonNum);
    yield ',"updateRatio":';
    yield* jsonArray(series.layerUpdateRatio[l], n, jsonNum);
    const backward = series.layerBackwardNorm[l];
    if (backward) {
      yield ',"backwardNorm":';
      yield* jsonArray(backward, n, jsonNum);
    }
    yield '}';
  }
  yield ']';
  if (series.hiddenGradNorms) {
    yield ',"hiddenGradNorms":[';
    for (let i = 0; i < n; i++) {
      if (i > 0) yield ',';
      const row = series.hiddenGradNorms[i];
      yield* jsonArray(row, row.length, jsonNum);
    }
    yield ']';
  }
  yield '}';
}

/** The result body `{ job, summary, series }` as JSON text chunks; `job` is already the API resource. */
export function resultJsonStream(job: unknown, summary: Summary | null, series: Series): Readable {
  function* pieces(): Generator<string> {
    yield `{"job":${JSON.stringify(job)},"summary":${JSON.stringify(summary)},"series":`;
    yield* seriesJsonPieces(series);
    yield '}';
  }
  return Readable.from(chunked(pieces()), { objectMode: false, highWaterMark: CHUNK_CHARS });
}

/** Layer names come from the engine (W1, W_hh…); quoted defensively should one hold a separator. */
function csvHeader(name: string): string {
  return /[",\n\r]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
}

/** The series as CSV text chunks: one row per recorded step, one column per scalar and per layer norm. */
export function resultCsvStream(series: Series): Readable {
  const cols: { name: string; values: ArrayLike<number> }[] = [
    { name: 'step', values: series.steps },
    { name: 'loss', values: series.loss },
    { name: 'gradNorm', values: series.gradNorm },
    { name: 'clippedGradNorm', values: series.clippedGradNorm },
    { name: 'lr', values: series.lr },
    { name: 'paramNorm', values: series.paramNorm },
  ];
  series.layerNames.forEach((name, l) => {
    cols.push({ name: `${name}.gradNorm`, values: series.layerGradNorm[l] });
    const backward = series.layerBackwardNorm[l];
    if (backward) cols.push({ name: `${name}.backwardNorm`, values: backward });
    cols.push({ name: `${name}.weightNorm`, values: series.layerWeightNorm[l] });
    cols.push({ name: `${name}.updateRatio`, values: series.layerUpdateRatio[l] });
  });
  function* pieces(): Generator<string> {
    yield `${cols.map((c) => csvHeader(c.name)).join(',')}\n`;
    const n = series.length;
    for (let i = 0; i < n; i += 64) {
      const end = Math.min(n, i + 64);
      let s = '';
      for (let r = i; r < end; r++) {
        let line = csvNum(cols[0].values[r]);
        for (let c = 1; c < cols.length; c++) line += `,${csvNum(cols[c].values[r])}`;
        s += `${line}\n`;
      }
      yield s;
    }
  }
  return Readable.from(chunked(pieces()), { objectMode: false, highWaterMark: CHUNK_CHARS });
}
