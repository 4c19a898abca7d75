/**
 * A job's recorded steps on the main thread, held columnar in growable typed arrays so that a
 * million-step job costs a few typed arrays, not a million objects. Events and the JSON series are
 * built on demand through `view`, which exposes a range of records as the engine's `Series`.
 */
import type { Series } from '../engine/types.js';
import { layerColumns, type RowShape, SCALAR_COLUMNS } from './protocol.js';

/** The stored form of a finished series: typed-array bytes, columnar. */
export interface SeriesBlob {
  shape: RowShape;
  length: number;
  /** Int32Array bytes: the step number of every record. */
  steps: Uint8Array;
  /** Float64Array bytes, column after column (scalars, then per layer grad/weight/ratio[/backward]), each `length` long. */
  values: Uint8Array;
  /** Float64Array bytes, record after record, `hiddenLength` each; empty when not recorded. */
  hidden: Uint8Array;
}

/**
 * Records of a run in column order, as the worker sends them (protocol.ts): `steps` one per record,
 * `values` column after column (SCALAR_COLUMNS, then grad/weight/ratio per recorded layer), each `n`
 * long, `hidden` record after record.
 */
export interface ColumnChunk {
  n: number;
  steps: Int32Array;
  values: Float64Array;
  hidden: Float64Array;
}

/** Runs with at most this many records get their whole capacity at once (≤ ~18 MiB for 35 columns). */
const PREALLOCATE_RECORDS = 65_536;
const INITIAL_CAPACITY = 256;

export class Telemetry {
  shape: RowShape;
  length = 0;
  private capacity: number;
  /** Growth stops here: the most records the run can make (engine estimate), so doubling never overshoots it. */
  private readonly maxCapacity: number;
  private readonly columns: number;
  private steps: Int32Array;
  /** Column k (SCALAR_COLUMNS, then grad/weight/ratio per recorded layer) at k × capacity. */
  private values: Float64Array;
  private hidden: Float64Array;

  /**
   * `maxRecords` is the most the run can record. A run's first chunk becomes the columns as they
   * are; when more records follow, a small run gets all it can record at once, a large one doubles
   * up to it. Columns exactly full are shared as the blob (no copy).
   */
  constructor(shape: RowShape, maxRecords = Number.POSITIVE_INFINITY) {
    this.shape = shape;
    this.maxCapacity = Math.max(0, maxRecords);
    this.columns = columnCount(shape);
    // Nothing is allocated before the first records: they may arrive as buffers to adopt.
    this.capacity = 0;
    this.steps = new Int32Array(0);
    this.values = new Float64Array(0);
    this.hidden = new Float64Array(0);
  }

  /** The shape arrives with the first record; a job that never recorded keeps the empty one. */
  static empty(): Telemetry {
    return new Telemetry({ layerNames: [], layerCount: 0, hiddenLength: 0 }, 0);
  }

  /**
   * Appends a columnar chunk (what the worker sends). The first chunk of a run is adopted as the
   * columns themselves, without a copy: a short job's whole series arrives in one chunk, and that
   * chunk is then also its stored blob.
   */
  appendColumns(chunk: ColumnChunk): void {
    const { n } = chunk;
    const c = this.columns;
    const h = this.shape.hiddenLength;
    if (chunk.steps.length !== n || chunk.values.length !== n * c || chunk.hidden.length !== n * h) {
      throw new RangeError(`column chunk of ${n} records does not match ${c} columns and ${h} hidden norms`);
    }
    if (this.length === 0 && n > 0) {
      this.steps = chunk.steps;
      this.values = chunk.values;
      this.hidden = chunk.hidden;
      this.capacity = n;
      this.length = n;
      return;
    }
    this.reserve(this.length + n);
    const cap = this.capacity;
    this.steps.set(chunk.steps, this.length);
    for (let k = 0; k < c; k++) this.values.set(chunk.values.subarray(k * n, (k + 1) * n), k * cap + this.length);
    this.hidden.set(chunk.hidden, this.length * h);
    this.length += n;
  }

  /** Bytes held by the columns, whatever is filled. */
  byteSize(): number {
    return this.steps.byteLength + this.values.byteLength + this.hidden.byteLength;
  }

  lastStep(): number {
    return this.length === 0 ? 0 : this.steps[this.length - 1];
  }

  /** Records [from, to) as an engine Series whose index 0 is record `from`; no copies. */
  view(from = 0, to = this.length): Series {
    const cap = this.capacity;
    const col = (k: number) => this.values.subarray(k * cap + from, k * cap + to);
    const s = SCALAR_COLUMNS.length;
    const layers = this.shape.layerCount;
    const per = layerColumns(this.shape);
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
      loss: col(0),
      gradNorm: col(1),
      clippedGradNorm: col(2),
      lr: col(3),
      paramNorm: col(4),
      layerGradNorm: Array.from({ length: layers }, (_, l) => col(s + per * l)),
      layerWeightNorm: Array.from({ length: layers }, (_, l) => col(s + per * l + 1)),
      layerUpdateRatio: Array.from({ length: layers }, (_, l) => col(s + per * l + 2)),
      layerBackwardNorm: per === 4 ? Array.from({ length: layers }, (_, l) => col(s + per * l + 3)) : [],
      hiddenGradNorms: hiddenRows,
    };
  }

  /** The finished series as blob bytes; shares the buffers when they are exactly full (no more appends then). */
  toBlob(): SeriesBlob {
    const n = this.length;
    const full = n === this.capacity;
    let values = this.values;
    if (!full) {
      values = new Float64Array(n * this.columns);
      for (let k = 0; k < this.columns; k++) {
        values.set(this.values.subarray(k * this.capacity, k * this.capacity + n), k * n);
      }
    }
    const steps = full ? this.steps : this.steps.slice(0, n);
    const hidden = full ? this.hidden : this.hidden.slice(0, n * this.shape.hiddenLength);
    return {
      shape: this.shape,
      length: n,
      steps: new Uint8Array(steps.buffer, steps.byteOffset, steps.byteLength),
      values: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      hidden: new Uint8Array(hidden.buffer, hidden.byteOffset, hidden.byteLength),
    };
  }

  /** A read-only telemetry over a stored blob (views, not copies, where the bytes are aligned). */
  static fromBlob(blob: SeriesBlob): Telemetry {
    const n = blob.length;
    const t = new Telemetry(blob.shape, 0);
    t.capacity = n;
    t.steps = asTyped(blob.steps, Int32Array, n);
    t.values = asTyped(blob.values, Float64Array, n * t.columns);
    t.hidden = asTyped(blob.hidden, Float64Array, n * blob.shape.hiddenLength);
    t.length = n;
    return t;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    let cap: number;
    if (this.maxCapacity <= PREALLOCATE_RECORDS) {
      // A small run gets all it can record at once.
      cap = Math.max(needed, this.maxCapacity);
    } else {
      cap = Math.max(INITIAL_CAPACITY, this.capacity);
      while (cap < needed) cap *= 2;
      cap = Math.max(needed, Math.min(cap, this.maxCapacity));
    }
    const n = this.length;
    const steps = new Int32Array(cap);
    steps.set(this.steps.subarray(0, n));
    const values = new Float64Array(cap * this.columns);
    for (let k = 0; k < this.columns; k++) {
      values.set(this.values.subarray(k * this.capacity, k * this.capacity + n), k * cap);
    }
    const hidden = new Float64Array(cap * this.shape.hiddenLength);
    hidden.set(this.hidden.subarray(0, n * this.shape.hiddenLength));
    this.steps = steps;
    this.values = values;
    this.hidden = hidden;
    this.capacity = cap;
  }
}

function columnCount(shape: RowShape): number {
  return SCALAR_COLUMNS.length + layerColumns(shape) * shape.layerCount;
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
