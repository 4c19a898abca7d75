/**
 * A compact trace of a run for small multiples (docs/sweeps.md, "What a cell keeps"): at most
 * TRACE_POINTS records of loss and global gradient norm, evenly spaced over the recorded series,
 * always including the first record, the last, and the first non-finite step.
 */
import type { NumJson } from '../contract/num.js';
import { encodeNum } from '../contract/num.js';
import type { NonFiniteMark } from './event-log.js';
import type { Telemetry } from './telemetry.js';

export const TRACE_POINTS = 64;

export interface Trace {
  steps: number[];
  loss: NumJson[];
  gradNorm: NumJson[];
}

/** Record indices of the trace: ≤ `points`, ascending, with 0, n − 1 and `must` (when given) among them. */
export function traceIndices(n: number, must: number | null, points = TRACE_POINTS): number[] {
  if (n <= 0) return [];
  if (n <= points) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  for (let i = 0; i < points; i++) picked.add(Math.round((i * (n - 1)) / (points - 1)));
  if (must !== null && must >= 0 && must < n && !picked.has(must)) {
    // Replace the nearest interior point, so the count stays ≤ points and the ends stay.
    let nearest = -1;
    for (const k of picked)
      if (k !== 0 && k !== n - 1 && (nearest < 0 || Math.abs(k - must) < Math.abs(nearest - must))) nearest = k;
    picked.delete(nearest);
    picked.add(must);
  }
  return [...picked].sort((a, b) => a - b);
}

export function compactTrace(telemetry: Telemetry, nonFinite: NonFiniteMark | null): Trace {
  const series = telemetry.view();
  const idx = traceIndices(series.length, nonFinite ? nonFinite.afterRecord : null);
  return {
    steps: idx.map((i) => series.steps[i]),
    loss: idx.map((i) => encodeNum(series.loss[i])),
    gradNorm: idx.map((i) => encodeNum(series.gradNorm[i])),
  };
}
