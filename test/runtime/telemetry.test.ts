import { describe, expect, it } from 'vitest';
import { rowWidth } from '../../src/runtime/protocol.js';
import { Telemetry } from '../../src/runtime/telemetry.js';

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

describe('Telemetry', () => {
  it('appends batches across growth and reads every column back by record', () => {
    const t = new Telemetry(shape, 1);
    t.append(rows(0, 3), 3);
    t.append(rows(3, 700), 700);
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

  it('views a range with record `from` at index 0', () => {
    const t = new Telemetry(shape);
    t.append(rows(0, 10), 10);
    const v = t.view(4, 7);
    expect(v.length).toBe(3);
    expect(Array.from(v.steps)).toEqual([5, 6, 7]);
    expect(v.loss[0]).toBe(401);
    expect(v.hiddenGradNorms).toHaveLength(3);
  });

  it('round-trips through its blob, including non-finite values', () => {
    const t = new Telemetry(shape);
    const r = rows(0, 5);
    r[1] = Number.NaN;
    r[2] = Number.POSITIVE_INFINITY;
    t.append(r, 5);
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
});
