/**
 * Numbers on the wire, without zod: JSON cannot carry NaN or ±Infinity, so every telemetry number
 * travels as a finite number or one of the strings "NaN", "Infinity", "-Infinity" (the `Num` schema
 * in ./events.ts). The engine encodes through this module, so its workers never load zod.
 */

/** A number as JSON carries it: finite, or the name of a non-finite value. */
export type NumJson = number | 'NaN' | 'Infinity' | '-Infinity';

/** Encodes a number for JSON: non-finite values become their string names. */
export function encodeNum(x: number): NumJson {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Infinity' : '-Infinity';
}

/** Decodes a `Num` back to a JS number. */
export function decodeNum(x: NumJson): number {
  return typeof x === 'number' ? x : Number(x);
}
