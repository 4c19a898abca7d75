// Non-finite numbers travel as the strings "NaN", "Infinity", "-Infinity" (docs/design.md).

/** A `Num` from the wire as a JS number (NaN and ±Infinity included). */
export function decodeNum(x) {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return Number.NaN;
  if (x === 'Infinity') return Number.POSITIVE_INFINITY;
  if (x === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (x === null || x === undefined) return Number.NaN;
  return Number(x);
}

/** What a log-scale chart can draw: a positive finite number, or null for a gap. */
export function forLog(x) {
  return Number.isFinite(x) && x > 0 ? x : null;
}

/** Short human formatting that keeps NaN and ±Infinity readable. */
export function fmt(x, digits = 4) {
  if (x === null || x === undefined) return '—';
  const v = decodeNum(x);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '∞';
  if (v === Number.NEGATIVE_INFINITY) return '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}
