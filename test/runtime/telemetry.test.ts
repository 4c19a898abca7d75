import { describe, expect, it } from 'vitest';
import { rowWidth } from '../../src/runtime/protocol.js';
import { Telemetry } from '../../src/runtime/telemetry.js';
import { chunkOfRows } from './helpers.js';

const shape = { layerNames: ['W1', 'W2', 'W3'], layerCount: 3, hiddenLength: 2 };

/** Row i: step i + 1, then value(i, k) for column k. */
function rows(from: number, n: number): Float64Array {
  const w = rowWidth(shape);
  const out = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    out[i * w] = from + i + 1;
    for (let k = 1; k < w; k++) out[i * w + k] = (from + i) * 100 + k;
  }
  return out;
}

/** Appends rows(from, n) as the worker would send them. */
function add(t: Telemetry, from: number, n: number): void {
  t.appendColumns(chunkOfRows(shape, rows(from, n), n));
}

function bytesOf(a: Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('Telemetry', () => {
  it('appends batches across growth and reads every column back by record', () => {
    const t = new Telemetry(shape);
    add(t, 0, 3);
    add(t, 3, 700);
    expect(t.length).toBe(703);
    expect(t.lastStep()).toBe(703);
    const s = t.view();
    for (const i of [0, 2, 3, 511, 702]) {
      expect(s.steps[i]).toBe(i + 1);
      expect([s.loss[i], s.gradNorm[i], s.clippedGradNorm[i], s.lr[i], s.paramNorm[i]]).toEqual(
        [1, 2, 3, 4, 5].map((k) => i * 100 + k),
      );
      expect(s.layerGradNorm[2][i]).toBe(i * 100 + 6 + 6);
      expect(s.layerWeightNorm[0][i]).toBe(i * 100 + 7);
      expect(s.layerUpdateRatio[1][i]).toBe(i * 100 + 11);
      expect(Array.from(s.hiddenGradNorms![i])).toEqual([i * 100 + 15, i * 100 + 16]);
    }
  });

  it('carries a fourth column per layer (backward norms) when the shape says so; shapes without it (old blobs) have none', () => {
    const withBackward = { layerNames: ['W1', 'W2'], layerCount: 2, hiddenLength: 0, backwardNorms: true };
    expect(rowWidth(withBackward)).toBe(1 + 5 + 4 * 2);
    const w = rowWidth(withBackward);
    const r = new Float64Array(3 * w).map((_, k) => (k % w === 0 ? Math.floor(k / w) + 1 : k));
    const t = new Telemetry(withBackward);
    t.appendColumns(chunkOfRows(withBackward, r, 3));
    const back = Telemetry.fromBlob(t.toBlob()).view();
    for (let i = 0; i < 3; i++) {
      // Per layer: grad, weight, ratio, backward; layer 1 (W2) starts at column 1 + 5 + 4.
      expect(back.layerGradNorm[1][i]).toBe(i * w + 10);
      expect(back.layerUpdateRatio[1][i]).toBe(i * w + 12);
      expect(back.layerBackwardNorm[1][i]).toBe(i * w + 13);
    }
    expect(new Telemetry(shape).view().layerBackwardNorm).toEqual([]);
  });

  it('views a range with record `from` at index 0', () => {
    const t = new Telemetry(shape);
    add(t, 0, 10);
    const v = t.view(4, 7);
    expect(v.length).toBe(3);
    expect(Array.from(v.steps)).toEqual([5, 6, 7]);
    expect(v.loss[0]).toBe(401);
    expect(v.hiddenGradNorms).toHaveLength(3);
  });

  it('grows up to maxRecords, no further, and shares its buffers as the blob when full', () => {
    const t = new Telemetry(shape, 100_000);
    add(t, 0, 300);
    add(t, 300, 99_700);
    expect(t.length).toBe(100_000);
    const blob = t.toBlob();
    expect(blob.values.byteLength).toBe(100_000 * 14 * 8);
    expect(blob.values.buffer.byteLength).toBe(100_000 * 14 * 8);
    const back = Telemetry.fromBlob(blob).view();
    const orig = t.view();
    expect(bytesOf(back.steps).equals(bytesOf(orig.steps))).toBe(true);
    for (const l of [0, 1, 2])
      expect(bytesOf(back.layerUpdateRatio[l]).equals(bytesOf(orig.layerUpdateRatio[l]))).toBe(true);
    expect(back.loss[99_999]).toBe(99_999 * 100 + 1);
    const small = new Telemetry(shape, 10);
    add(small, 0, 4);
    expect(small.toBlob().values.buffer.byteLength).toBe(4 * 14 * 8);
    expect(Telemetry.fromBlob(small.toBlob()).view()).toEqual(small.view());
  });

  it('round-trips through its blob, including non-finite values', () => {
    const t = new Telemetry(shape);
    const r = rows(0, 5);
    r[1] = Number.NaN;
    r[2] = Number.POSITIVE_INFINITY;
    t.appendColumns(chunkOfRows(shape, r, 5));
    const blob = t.toBlob();
    expect(blob.values.byteLength).toBe(5 * (5 + 9) * 8);
    expect(blob.steps.byteLength).toBe(5 * 4);
    // A blob read from a file may start at an odd offset.
    const shifted = new Uint8Array(blob.values.byteLength + 1);
    shifted.set(blob.values, 1);
    const back = Telemetry.fromBlob({ ...blob, values: shifted.subarray(1) });
    expect(back.view()).toEqual(t.view());
    expect(Number.isNaN(back.view().loss[0])).toBe(true);
    expect(() => Telemetry.fromBlob({ ...blob, values: blob.values.subarray(8) })).toThrow(/expected/);
  });

  it('adopts the first column chunk of a run as its columns, appends later chunks, and equals the row path', () => {
    const first = chunkOfRows(shape, rows(0, 700), 700);
    const t = new Telemetry(shape, 2000);
    t.appendColumns(first);
    // No copy: the chunk's buffers are the columns and, the run being complete, the stored blob.
    expect(t.toBlob().values.buffer).toBe(first.values.buffer);
    add(t, 700, 3);
    add(t, 703, 297);
    const byRows = new Telemetry(shape, 2000);
    add(byRows, 0, 1000);
    expect(t.length).toBe(1000);
    expect(t.view()).toEqual(byRows.view());
    expect(Telemetry.fromBlob(t.toBlob()).view()).toEqual(byRows.view());
    expect(() => t.appendColumns({ ...chunkOfRows(shape, rows(1000, 2), 2), n: 3 })).toThrow(/does not match/);
  });
});
