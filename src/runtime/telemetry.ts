/**
 * A job's recorded steps on the main thread, held columnar in growable typed arrays so that a
 * million-step job costs a few typed arrays, not a million objects. Events and the JSON series are
 * built on demand through `view`, which exposes a range of records as the engine's `Series`.
 */
import type { Series } from '../engine/types.js';
import { type RowShape, rowWidth, SCALAR_COLUMNS } from './protocol.js';

/** The stored form of a finished series: typed-array bytes, columnar. */
export interface SeriesBlob {
  shape: RowShape;
  length: number;
  /** Int32Array bytes: the step number of every record. */
  steps: Uint8Array;
  /** Float64Array bytes, column after column (scalars, then per layer grad/weight/ratio), each `length` long. */
  values: Uint8Array;
  /** Float64Array bytes, record after record, `hiddenLength` each; empty when not recorded. */
  hidden: Uint8Array;
}

const INITIAL_CAPACITY = 256;

export class Telemetry {
  shape: RowShape;
  length = 0;
  private capacity: number;
  /** Growth stops here: the most records the run can make (engine estimate), so doubling never overshoots it. */
  private readonly maxCapacity: number;
  private steps: Int32Array;
  /** SCALAR_COLUMNS, then grad/weight/ratio for each recorded layer. */
  private cols: Float64Array[];
  private hidden: Float64Array;

  constructor(shape: RowShape, capacity = INITIAL_CAPACITY, maxCapacity = Number.POSITIVE_INFINITY) {
    this.shape = shape;
    this.maxCapacity = maxCapacity;
    this.capacity = Math.max(1, Math.min(capacity, maxCapacity));
    this.steps = new Int32Array(this.capacity);
    this.cols = Array.from({ length: columnCount(shape) }, () => new Float64Array(this.capacity));
    this.hidden = new Float64Array(this.capacity * shape.hiddenLength);
  }

  /** The shape arrives with the first record; a job that never recorded keeps the empty one. */
  static empty(): Telemetry {
    return new Telemetry({ layerNames: [], layerCount: 0, hiddenLength: 0 }, 1);
  }

  /** Appends `n` flat rows laid out as protocol.ts describes. */
  append(rows: Float64Array, n: number): void {
    this.reserve(this.length + n);
    const width = rowWidth(this.shape);
    const c = this.cols.length;
    const h = this.shape.hiddenLength;
    for (let i = 0; i < n; i++) {
      const o = i * width;
      const at = this.length + i;
      this.steps[at] = rows[o];
      for (let k = 0; k < c; k++) this.cols[k][at] = rows[o + 1 + k];
      if (h > 0) this.hidden.set(rows.subarray(o + 1 + c, o + 1 + c + h), at * h);
    }
    this.length += n;
  }

  lastStep(): number {
    return this.length === 0 ? 0 : this.steps[this.length - 1];
  }

  /** Records [from, to) as an engine Series whose index 0 is record `from`; no copies. */
  view(from = 0, to = this.length): Series {
    const cols = this.cols.map((col) => col.subarray(from, to));
    const s = SCALAR_COLUMNS.length;
    const layers = this.shape.layerCount;
    const h = this.shape.hiddenLength;
    let hiddenRows: Float64Array[] | null = null;
    if (h > 0) {
      hiddenRows = [];
      for (let i = from; i < to; i++) hiddenRows.push(this.hidden.subarray(i * h, (i + 1) * h));
    }
    return {
      length: to - from,
      layerNames: this.shape.layerNames,
      steps: this.steps.subarray(from, to),
      loss: cols[0],
      gradNorm: cols[1],
      clippedGradNorm: cols[2],
      lr: cols[3],
      paramNorm: cols[4],
      layerGradNorm: Array.from({ length: layers }, (_, l) => cols[s + 3 * l]),
      layerWeightNorm: Array.from({ length: layers }, (_, l) => cols[s + 3 * l + 1]),
      layerUpdateRatio: Array.from({ length: layers }, (_, l) => cols[s + 3 * l + 2]),
      hiddenGradNorms: hiddenRows,
    };
  }

  toBlob(): SeriesBlob {
    const n = this.length;
    const values = new Float64Array(n * this.cols.length);
    for (let k = 0; k < this.cols.length; k++) values.set(this.cols[k].subarray(0, n), k * n);
    const steps = this.steps.slice(0, n);
    const hidden = this.hidden.slice(0, n * this.shape.hiddenLength);
    return {
      shape: this.shape,
      length: n,
      steps: new Uint8Array(steps.buffer),
      values: new Uint8Array(values.buffer),
      hidden: new Uint8Array(hidden.buffer),
    };
  }

  static fromBlob(blob: SeriesBlob): Telemetry {
    const n = blob.length;
    const t = new Telemetry(blob.shape, n);
    t.steps.set(asTyped(blob.steps, Int32Array, n));
    const values = asTyped(blob.values, Float64Array, n * t.cols.length);
    for (let k = 0; k < t.cols.length; k++) t.cols[k].set(values.subarray(k * n, (k + 1) * n));
    t.hidden.set(asTyped(blob.hidden, Float64Array, n * blob.shape.hiddenLength));
    t.length = n;
    return t;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    let cap = this.capacity;
    while (cap < needed) cap *= 2;
    cap = Math.max(needed, Math.min(cap, this.maxCapacity));
    const steps = new Int32Array(cap);
    steps.set(this.steps.subarray(0, this.length));
    this.steps = steps;
    this.cols = this.cols.map((col) => {
      const grown = new Float64Array(cap);
      grown.set(col.subarray(0, this.length));
      return grown;
    });
    const hidden = new Float64Array(cap * this.shape.hiddenLength);
    hidden.set(this.hidden.subarray(0, this.length * this.shape.hiddenLength));
    this.hidden = hidden;
    this.capacity = cap;
  }
}

function columnCount(shape: RowShape): number {
  return SCALAR_COLUMNS.length + 3 * shape.layerCount;
}

/** Blob bytes from SQLite or a Buffer may sit at any offset; copy only when misaligned. */
function asTyped<T extends Int32Array | Float64Array>(
  bytes: Uint8Array,
  Ctor: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
  count: number,
): T {
  if (bytes.byteLength !== count * Ctor.BYTES_PER_ELEMENT) {
    throw new Error(`series blob holds ${bytes.byteLength} bytes, expected ${count * Ctor.BYTES_PER_ELEMENT}`);
  }
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  }
  const copy = new Uint8Array(bytes);
  return new Ctor(copy.buffer, 0, count);
}
