/**
 * The result as CSV: one row per recorded step, one column per scalar series and per layer norm.
 * Non-finite values are already the strings "NaN", "Infinity", "-Infinity" in the JSON series and
 * stay so here, which is what pandas.read_csv and Python's float() parse back.
 */
import type { SeriesJson } from '../contract/events.js';

function cell(x: number | string): string {
  // Numbers print in JS's shortest round-trip form; no field can hold a comma or a quote.
  return String(x);
}

function header(name: string): string {
  // Layer names come from the engine (W1, W_hh…); quote defensively should one ever hold a separator.
  return /[",\n\r]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
}

export function seriesToCsv(series: SeriesJson): string {
  const cols: { name: string; values: readonly (number | string)[] }[] = [
    { name: 'step', values: series.steps },
    { name: 'loss', values: series.loss },
    { name: 'gradNorm', values: series.gradNorm },
    { name: 'clippedGradNorm', values: series.clippedGradNorm },
    { name: 'lr', values: series.lr },
    { name: 'paramNorm', values: series.paramNorm },
  ];
  for (const layer of series.layers) {
    cols.push({ name: `${layer.name}.gradNorm`, values: layer.gradNorm });
    if (layer.backwardNorm) cols.push({ name: `${layer.name}.backwardNorm`, values: layer.backwardNorm });
    cols.push({ name: `${layer.name}.weightNorm`, values: layer.weightNorm });
    cols.push({ name: `${layer.name}.updateRatio`, values: layer.updateRatio });
  }
  const lines = [cols.map((c) => header(c.name)).join(',')];
  const n = series.steps.length;
  for (let i = 0; i < n; i++) {
    lines.push(cols.map((c) => cell(c.values[i] ?? '')).join(','));
  }
  return `${lines.join('\n')}\n`;
}
