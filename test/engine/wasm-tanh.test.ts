// The WebAssembly tanh runs, lane for lane, the operations of the engine's tanh (src/engine/math.ts)
// in the same order, so it must give the same bits on every input, specials included.
import { describe, expect, it } from 'vitest';
import { tanh } from '../../src/engine/math.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';

function bits(x: number) {
  const f = new Float64Array([x]);
  return new BigUint64Array(f.buffer)[0];
}

describe('WebAssembly tanh', () => {
  const backend = createWasmBackend();
  const buffer = backend.createBuffer(8 * 100_000);

  it('equals the engine’s tanh bit for bit, across magnitudes and on ±0, ±20, ±Infinity, NaN, subnormals', () => {
    const specials = [0, -0, 20, -20, 20.000000000000004, 19.999999999999996, 1e-320, -5e-324, 1e-300, 0.5, -0.5];
    specials.push(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e9, -3e9, 2 ** 31, 1e308);
    const n = 99_999; // odd: the last element takes the scalar path
    const src = new Float64Array(buffer, 0, n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const mag = 10 ** ((s / 2 ** 32) * 8 - 6); // 1e-6 .. 1e2: every branch and reduction k
      src[i] = i < specials.length ? specials[i] : (i % 2 ? -1 : 1) * mag * (1 + (i % 7) / 7);
    }
    const dst = new Float64Array(buffer, 8 * n + 8, n);
    backend.kernels.tanh(n, src, dst);
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const want = tanh(src[i]);
      if (Number.isNaN(want) ? !Number.isNaN(dst[i]) : bits(dst[i]) !== bits(want)) mismatches++;
    }
    expect(mismatches).toBe(0);
    // and it is tanh: within 4 ulp of Math.tanh where the engine's version is (test/engine/math.test.ts)
    expect(Math.abs(dst[specials.length + 5] - Math.tanh(src[specials.length + 5]))).toBeLessThan(1e-15);
  });

  it('works in place and on views over plain buffers', () => {
    const inPlace = new Float64Array(buffer, 0, 33);
    const plain = new Float64Array(33);
    for (let i = 0; i < 33; i++) inPlace[i] = plain[i] = (i - 16) / 4;
    backend.kernels.tanh(33, inPlace, inPlace);
    backend.kernels.tanh(33, plain, plain);
    for (let i = 0; i < 33; i++) expect(bits(inPlace[i])).toBe(bits(tanh((i - 16) / 4)));
    expect(Array.from(plain)).toEqual(Array.from(inPlace));
  });
});
