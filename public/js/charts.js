// Charts: uPlot line charts on log scales, and a canvas heat map of layer × step.
// Each chart writes what it really plotted into data-* attributes for tests and curious users.

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { sizeCanvas } from './dom.js';
import { forLog } from './num.js';

export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

function chartWidth(el) {
  return Math.max(280, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 600) - 4);
}

function nonFiniteMarker(getStep) {
  return {
    hooks: {
      draw: [
        (u) => {
          const step = getStep();
          if (step === null || step === undefined) return;
          const x = u.valToPos(step, 'x', true);
          if (!Number.isFinite(x)) return;
          const { ctx } = u;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.strokeStyle = '#e11d48';
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillStyle = '#e11d48';
          ctx.font = `${12 * devicePixelRatio}px sans-serif`;
          const label = `non-finite @ ${step}`;
          const w = ctx.measureText(label).width;
          const left = x + 4 * devicePixelRatio + w > u.bbox.left + u.bbox.width;
          ctx.fillText(
            label,
            left ? x - w - 4 * devicePixelRatio : x + 4 * devicePixelRatio,
            top + 14 * devicePixelRatio,
          );
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * A line chart with a log y axis. `series` is `[{label, color?, dash?, points?}]`;
 * `update(xs, ys[])` replaces the data (ys values are numbers; non-finite or ≤ 0 become gaps).
 */
export class LogChart {
  constructor(el, { series, xLabel = 'step', yLabel = '', ylog = true, height = 220, pointAttrs = null }) {
    this.el = el;
    this.seriesDefs = series;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.ylog = ylog;
    this.height = height;
    // pointAttrs maps a series index to the data attribute that reports its plotted point count.
    this.pointAttrs = pointAttrs;
    this.markStep = null;
    this.plot = null;
    this.lastData = null;
    this.pending = null;
    /** @type {ReturnType<typeof schedule> | 0} */
    this.frame = 0;
    this.build();
  }

  build() {
    if (this.plot) this.plot.destroy();
    const opts = {
      width: chartWidth(this.el),
      height: this.height,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: this.ylog ? { distr: 3, log: 10 } : {} },
      axes: [
        { label: this.xLabel },
        {
          label: this.yLabel,
          size: 70,
          values: (_u, splits) => splits.map((v) => (v === null ? '' : shortNum(v))),
        },
      ],
      series: [
        { label: this.xLabel },
        ...this.seriesDefs.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? PALETTE[i % PALETTE.length],
          width: s.width ?? 1.5,
          dash: s.dash,
          spanGaps: false,
          // uPlot's default draws markers only where points are sparse: a lone finite value stays visible.
          ...(s.points ? { points: s.points } : {}),
          value: (_u, v) => (v === null || v === undefined ? '—' : shortNum(v)),
        })),
      ],
      plugins: [nonFiniteMarker(() => this.markStep)],
    };
    this.plot = new uPlot(opts, [[], ...this.seriesDefs.map(() => [])], this.el);
  }

  /** Replaces the plotted data; drawing is coalesced to one per animation frame. */
  update(xs, ys, markStep = null) {
    this.markStep = markStep;
    // Only references are kept here; the copy for uPlot is made once per frame in flush().
    this.pending = { xs, ys };
    if (!this.frame) this.frame = schedule(() => this.flush(), xs.length);
  }

  /** Draws what is pending now (tests and the end of a run call this to be exact). */
  flush() {
    if (this.frame) cancelScheduled(this.frame);
    this.frame = 0;
    if (!this.pending) return;
    const { xs: rawXs, ys } = this.pending;
    this.pending = null;
    const data = [rawXs.slice(), ...ys.map((col) => (this.ylog ? col.map(forLog) : col.map(finiteOrNull)))];
    // A log scale over no positive value has no range; uPlot then draws nothing useful.
    const hasValue = data.slice(1).some((col) => col.some((v) => v !== null));
    this.plot.setData(hasValue ? data : [data[0], ...data.slice(1).map((col) => col.map(() => null))], true);
    this.lastData = data;
    const xs = data[0];
    if (this.pointAttrs) {
      for (const [index, attr] of Object.entries(this.pointAttrs)) {
        const col = data[Number(index) + 1];
        this.el.setAttribute(attr, String(col.filter((v) => v !== null).length));
      }
    } else {
      this.el.dataset.points = String(xs.length);
      this.el.dataset.finitePoints = String(data[1] ? data[1].filter((v) => v !== null).length : 0);
    }
  }

  /**
   * What the chart holds now, as plotted: `{x, series: [{label, values}]}` (null for a gap: a value
   * that is non-finite, or not positive on a log scale). For tests and the curious (window.__gl).
   */
  drawn() {
    const data = this.lastData ?? [[]];
    return {
      x: data[0].slice(),
      series: this.seriesDefs.map((s, i) => ({ label: s.label, values: (data[i + 1] ?? []).slice() })),
    };
  }

  clear() {
    this.update(
      [],
      this.seriesDefs.map(() => []),
    );
    this.flush();
  }

  resize() {
    this.plot.setSize({ width: chartWidth(this.el), height: this.height });
  }

  /** Rebuilds with other series (e.g. another number of layers). */
  setSeries(series) {
    this.seriesDefs = series;
    this.build();
  }
}

// Redrawing costs O(points): long runs are redrawn less often so the page keeps up with the stream.
function schedule(fn, points) {
  const delay = points > 50_000 ? 500 : points > 10_000 ? 150 : 0;
  if (delay === 0) return { raf: requestAnimationFrame(fn) };
  const handle = {};
  handle.timeout = setTimeout(() => {
    handle.raf = requestAnimationFrame(fn);
  }, delay);
  return handle;
}

function cancelScheduled(handle) {
  if (handle.timeout !== undefined) clearTimeout(handle.timeout);
  if (handle.raf !== undefined) cancelAnimationFrame(handle.raf);
}

function finiteOrNull(v) {
  return Number.isFinite(v) ? v : null;
}

export function shortNum(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) {
    const exp = Math.floor(Math.log10(a));
    const mant = v / 10 ** exp;
    return Math.abs(mant - Math.round(mant)) < 1e-9 && Math.round(mant) === 1
      ? `1e${exp}`
      : `${mant.toFixed(1)}e${exp}`;
  }
  return String(Number(v.toPrecision(3)));
}

// Viridis-like ramp, sampled at 6 stops; NaN/±Infinity get a colour of their own.
const RAMP = [
  [68, 1, 84],
  [65, 68, 135],
  [42, 120, 142],
  [34, 168, 132],
  [122, 209, 81],
  [253, 231, 37],
];
const NONFINITE_RGB = [225, 29, 72];

function rampColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + f * (RAMP[i + 1][k] - c)));
}

/** A CSS colour for layer k of n along the ramp (first layer dark, last light but still legible). */
export function layerColor(k, n) {
  const [r, g, b] = rampColor(n <= 1 ? 0 : (0.85 * k) / (n - 1));
  return `rgb(${r}, ${g}, ${b})`;
}

/**
 * Heat map of per-layer gradient norms: one row per layer (first layer at the top), one column per
 * recorded step (binned by max when there are more steps than pixels), colour = log10 of the norm.
 */
export class HeatMap {
  constructor(figure, canvas, legend) {
    this.figure = figure;
    this.canvas = canvas;
    this.legend = legend;
    /** @type {ReturnType<typeof schedule> | 0} */
    this.frame = 0;
    this.pending = null;
  }

  update(steps, layers, names, markStep = null) {
    this.pending = { steps, layers, names, markStep };
    if (!this.frame) this.frame = schedule(() => this.flush(), steps.length);
  }

  flush() {
    if (this.frame) cancelScheduled(this.frame);
    this.frame = 0;
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const { steps, layers, names, markStep } = p;
    const canvas = this.canvas;
    const labelW = 56;
    const width = Math.max(280, Math.floor(this.figure.clientWidth || 600) - 4);
    const rows = layers.length;
    const height = Math.max(60, Math.min(320, rows * 18));
    const ctx = sizeCanvas(canvas, width, height);
    // The image data is drawn in device pixels.
    const dpr = devicePixelRatio || 1;
    const n = steps.length;
    this.figure.dataset.points = String(n);
    this.figure.dataset.layers = String(rows);
    if (n === 0 || rows === 0) {
      this.legend.textContent = rows === 0 && n > 0 ? 'No per-layer norms recorded (record.layers is false).' : '';
      return;
    }
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const col of layers) {
      for (const v of col) {
        if (Number.isFinite(v) && v > 0) {
          const l = Math.log10(v);
          if (l < lo) lo = l;
          if (l > hi) hi = l;
        }
      }
    }
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    }
    if (hi - lo < 1e-9) hi = lo + 1;
    const plotW = width - labelW;
    const rowH = height / rows;
    const cols = Math.min(n, plotW);
    const colW = plotW / cols;
    const img = ctx.createImageData(Math.max(1, Math.floor(plotW * dpr)), Math.max(1, Math.floor(height * dpr)));
    const iw = img.width;
    const ih = img.height;
    for (let r = 0; r < rows; r++) {
      const col = layers[r];
      const y0 = Math.floor(((r * rowH) / height) * ih);
      const y1 = Math.floor((((r + 1) * rowH) / height) * ih);
      for (let c = 0; c < cols; c++) {
        // Max over the steps in this pixel column, so a spike is never averaged away.
        const s0 = Math.floor((c * n) / cols);
        const s1 = Math.max(s0 + 1, Math.floor(((c + 1) * n) / cols));
        let worst = Number.NEGATIVE_INFINITY;
        let bad = false;
        for (let s = s0; s < s1; s++) {
          const v = col[s];
          if (!Number.isFinite(v)) bad = true;
          else if (v > worst) worst = v;
        }
        const rgb = bad ? NONFINITE_RGB : worst > 0 ? rampColor((Math.log10(worst) - lo) / (hi - lo)) : RAMP[0];
        const x0 = Math.floor(((c * colW) / plotW) * iw);
        const x1 = Math.floor((((c + 1) * colW) / plotW) * iw);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < Math.max(x1, x0 + 1); x++) {
            const k = (y * iw + x) * 4;
            img.data[k] = rgb[0];
            img.data[k + 1] = rgb[1];
            img.data[k + 2] = rgb[2];
            img.data[k + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, Math.floor(labelW * dpr), 0);
    ctx.fillStyle = '#334155';
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'middle';
    const labelEvery = Math.ceil(12 / rowH);
    for (let r = 0; r < rows; r += labelEvery) ctx.fillText(names[r] ?? `L${r + 1}`, 4, (r + 0.5) * rowH);
    if (markStep !== null && markStep !== undefined) {
      const idx = steps.indexOf(markStep);
      if (idx >= 0) {
        const x = labelW + ((Math.floor((idx * cols) / n) + 0.5) * plotW) / cols;
        ctx.strokeStyle = '#e11d48';
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, 0);
        ctx.lineTo(x, height);
        ctx.stroke();
      }
    }
    this.legend.textContent = `steps ${steps[0]}–${steps[n - 1]} · colour: log10 ‖∂L/∂W‖ from ${lo.toFixed(1)} (dark) to ${hi.toFixed(1)} (yellow) · red: non-finite`;
  }
}
