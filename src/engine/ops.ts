/** Elementwise helpers shared by the models and the trainer. `n` elements from index `off`. */

/** Sum of squares; in float32 mode a float32 running sum (rounded after every op, no rescaling). */
export function sumSq(x: Float64Array, off: number, n: number, f32: boolean): number {
  let s = 0;
  const end = off + n;
  if (f32) {
    for (let i = off; i < end; i++) s = Math.fround(s + Math.fround(x[i] * x[i]));
  } else {
    for (let i = off; i < end; i++) s += x[i] * x[i];
  }
  return s;
}

/** √ of a sum of squares, rounded to float32 when asked. */
export function rootOf(s: number, f32: boolean): number {
  return f32 ? Math.fround(Math.sqrt(s)) : Math.sqrt(s);
}

export function roundF32(x: Float64Array, off: number, n: number): void {
  const end = off + n;
  for (let i = off; i < end; i++) x[i] = Math.fround(x[i]);
}

/** NaN when any element is NaN or ±Infinity, else 0 (x − x is 0 only for finite x). */
export function nonFiniteProbe(x: Float64Array, off: number, n: number): number {
  let s = 0;
  const end = off + n;
  for (let i = off; i < end; i++) s += x[i] - x[i];
  return s;
}

/** Index of the first non-finite element in [off, off+n), or −1. */
export function firstNonFinite(x: Float64Array, off: number, n: number): number {
  const end = off + n;
  for (let i = off; i < end; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}
