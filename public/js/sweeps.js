// The Sweeps tab: runs a sweep (POST /v1/sweeps), follows its cell events over the WebSocket with
// the same resume-from-seq logic as a run, and draws the grid as a heat map of one metric over two
// of its axes (a third axis becomes a slice selector), with the theory's boundary lines on it.
// Clicking a cell opens its job in the Run view.

import { ApiError, api } from './api.js';
/**
 * @import { components } from '../../clients/ts/src/openapi.js'
 * @typedef {components['schemas']} Schemas
 */
import { shortNum } from './charts.js';
import { fillSelect, sizeCanvas } from './dom.js';
import { decodeNum, fmt } from './num.js';
import { openStream } from './stream.js';
import { verdictText } from './verdict.js';

const $ = (sel) => document.querySelector(sel);

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

export const OUTCOME_COLORS = {
  exploding: '#dc2626',
  nonfinite: '#7f1d1d',
  diverged: '#f97316',
  vanishing: '#2563eb',
  converged: '#059669',
  stable: '#84cc16',
};
const PENDING_COLOR = '#e2e8f0';
const RUNNING_COLOR = '#cbd5e1';
const FAILED_COLOR = '#475569';
const NO_VALUE_COLOR = '#f8fafc';
const NONFINITE_COLOR = '#e11d48';
const THEORY_COLOR = '#111827';

// Same viridis-like ramp as the run view's layer × step heat map, so "yellow = large" reads alike.
const RAMP = [
  [68, 1, 84],
  [65, 68, 135],
  [42, 120, 142],
  [34, 168, 132],
  [122, 209, 81],
  [253, 231, 37],
];

function rampColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const [r, g, b] = RAMP[i].map((c, k) => Math.round(c + f * (RAMP[i + 1][k] - c)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** A short display name for one axis value (mitigation lists by their kinds). */
export function valueLabel(axis, i) {
  const label = axis.labels?.[i];
  if (label) return label;
  const v = axis.values[i];
  if (typeof v === 'number') return shortNum(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return 'none';
    if (v.every((m) => m && typeof m === 'object' && typeof m.kind === 'string')) {
      return v
        .map((m) => {
          const nums = Object.entries(m)
            .filter(([k, x]) => k !== 'kind' && typeof x === 'number')
            .map(([, x]) => shortNum(x));
          return [m.kind, ...nums].join(' ');
        })
        .join(' + ');
    }
  }
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/**
 * Where a theory value sits on an axis, in cell units (0.5 = the first cell's centre), by linear
 * interpolation between the neighbouring values; null when the axis is not numeric and monotone or
 * the value lies outside it.
 */
export function axisPosition(values, t) {
  if (values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  for (let i = 0; i < values.length; i++) if (values[i] === t) return i + 0.5;
  for (let i = 0; i + 1 < values.length; i++) {
    const a = values[i];
    const b = values[i + 1];
    if ((a < t && t < b) || (b < t && t < a)) return i + 0.5 + (t - a) / (b - a);
  }
  return null;
}

/** The numeric metric of a cell, decoded (NaN/±Infinity kept), or null when it has none. */
function metricValue(cell, metric) {
  const raw = cell[metric];
  if (raw === null || raw === undefined) return null;
  return decodeNum(raw);
}

export class SweepView {
  /** `openJob(id)` opens a job in the Run view (the dashboard's reopen code). */
  constructor({ openJob }) {
    this.openJob = openJob;
    this.presets = [];
    this.current = null; // { sweep, cells, stream, conn }
    this.geometry = null;
    /** Each ended cell's verdict line by job id (null while it loads). */
    this.verdicts = new Map();
    this.hovered = null;
    this.frame = 0;
    this.listTimer = 0;
    this.visible = false;
    this.canvas = $('#sweep-canvas');
    this.figure = $('#sweep-map');

    $('#sweep-preset').addEventListener('change', () => this.applyPreset());
    $('#sweep-run').addEventListener('click', () => this.run());
    $('#sweep-cancel').addEventListener('click', () => {
      if (this.current) this.cancel(this.current.sweep.id);
    });
    $('#sweeps-refresh').addEventListener('click', () => this.refreshList());
    for (const sel of ['#sweep-metric', '#sweep-slice']) $(sel).addEventListener('change', () => this.render());
    $('#sweep-x').addEventListener('change', () => this.axisChanged('x'));
    $('#sweep-y').addEventListener('change', () => this.axisChanged('y'));
    this.canvas.addEventListener('mousemove', (ev) => this.hover(ev));
    this.canvas.addEventListener('click', (ev) => this.click(ev));
  }

  async loadPresets() {
    const select = $('#sweep-preset');
    let error = null;
    try {
      const body = /** @type {Schemas['SweepPresetList']} */ (await api('/v1/sweeps/presets'));
      this.presets = body.items;
    } catch (err) {
      this.presets = [];
      error = err;
    }
    fillSelect(select, [
      { value: '', label: '(custom: edit the JSON)' },
      ...this.presets.map((p) => ({ value: p.id, label: p.title })),
    ]);
    if (this.presets.length > 0) {
      select.value = (this.presets.find((p) => p.id === 'sweep-textbook') ?? this.presets[0]).id;
      this.applyPreset();
    }
    if (error) this.showError(error, 'Could not load the sweep presets');
  }

  applyPreset() {
    const p = this.presets.find((x) => x.id === $('#sweep-preset').value);
    $('#sweep-preset-description').textContent = p ? `${p.source.replace(/\.$/, '')}. ${p.finding}` : '';
    if (p) $('#sweep-json').value = JSON.stringify(p.request, null, 2);
  }

  showError(err, prefix = 'Refused') {
    const box = $('#sweep-error');
    if (!err) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    box.replaceChildren();
    const head = document.createElement('div');
    if (err instanceof ApiError) {
      head.textContent = `${prefix} (${err.status}): ${err.problem.detail ?? err.problem.title ?? err.message}`;
      box.append(head);
      if (err.fieldErrors.length > 0) {
        const ul = document.createElement('ul');
        for (const e of err.fieldErrors) {
          const li = document.createElement('li');
          li.textContent = `${e.path || '(body)'}: ${e.message}`;
          ul.append(li);
        }
        box.append(ul);
      }
    } else {
      head.textContent = `${prefix}: ${err.message ?? err}`;
      box.append(head);
    }
  }

  async run() {
    let body;
    try {
      body = JSON.parse($('#sweep-json').value);
    } catch (err) {
      $('#sweep-json-details').open = true;
      this.showError(new Error(`the sweep JSON does not parse: ${err.message}`), 'Not sent');
      return;
    }
    this.showError(null);
    const button = $('#sweep-run');
    button.disabled = true;
    try {
      const created = /** @type {Schemas['SweepWithLinks']} */ (await api('/v1/sweeps', { method: 'POST', body }));
      await this.open(created.id);
    } catch (err) {
      this.showError(err);
    } finally {
      button.disabled = false;
    }
  }

  /** Shows a sweep: its grid as stored now, then (while it runs) its cell events as they come. */
  async open(id) {
    const resource = /** @type {Schemas['SweepResource']} */ (await api(`/v1/sweeps/${encodeURIComponent(id)}`));
    this.stop();
    const { cells, ...sweep } = resource;
    this.current = { sweep, cells, stream: null, conn: 'idle', events: 0 };
    this.setupAxes(sweep);
    this.renderHead();
    this.render();
    if (sweep.status === 'running') this.follow(this.current);
    this.refreshList();
  }

  follow(cur) {
    cur.conn = 'connecting';
    cur.stream = openStream(cur.sweep.id, {
      resource: 'sweeps',
      from: 0,
      onEvent: (/** @type {Schemas['SweepEvent']} */ event) => {
        if (this.current !== cur) return;
        cur.events += 1;
        if (event.type === 'cell' && event.cell) {
          cur.cells[event.cell.index] = event.cell;
        } else if (event.type === 'done') {
          cur.sweep.status = event.status;
          if (event.progress) cur.sweep.progress = event.progress;
          this.resync(cur);
          this.refreshList();
        }
        // Header and map are redrawn once per frame: a 10,000-cell sweep sends 10,000 events.
        this.scheduleRender();
      },
      onState: (s, detail) => {
        if (this.current !== cur) return;
        cur.conn = s === 'failed' ? `failed: ${detail}` : s;
        this.renderHead();
      },
    });
  }

  /** After `done`, the stored grid has every cell's final state (and endedAt). */
  async resync(cur) {
    try {
      const { cells, ...sweep } = /** @type {Schemas['SweepResource']} */ (
        await api(`/v1/sweeps/${encodeURIComponent(cur.sweep.id)}`)
      );
      if (this.current !== cur) return;
      cur.sweep = sweep;
      cur.cells = cells;
      this.renderHead();
      this.render();
    } catch {
      // The cells already drawn from the events stay; the list shows the sweep's state.
    }
  }

  stop() {
    this.current?.stream?.close();
    this.current = null;
  }

  async cancel(id) {
    try {
      await api(`/v1/sweeps/${encodeURIComponent(id)}`, { method: 'DELETE' });
    } catch (err) {
      // 409: it ended meanwhile, which is what the user wanted anyway.
      if (!(err instanceof ApiError && err.status === 409)) this.showListError(err);
    }
    if (this.current?.sweep.id === id && !this.current.stream) await this.open(id).catch(() => {});
    this.refreshList();
  }

  setupAxes(sweep) {
    const axes = sweep.axes;
    const options = (sel, withNone) =>
      fillSelect($(sel), [
        ...(withNone ? [{ value: '-1', label: '(none)' }] : []),
        ...axes.map((a, i) => ({ value: String(i), label: a.path })),
      ]);
    options('#sweep-x', false);
    options('#sweep-y', true);
    $('#sweep-x').value = '0';
    $('#sweep-y').value = axes.length > 1 ? '1' : '-1';
    this.setupSlice();
  }

  axisChanged(which) {
    const cur = this.current;
    if (!cur) return;
    const x = Number($('#sweep-x').value);
    const y = Number($('#sweep-y').value);
    if (x === y) {
      // Keep two distinct axes: the other selector takes the axis this one left.
      const n = cur.sweep.axes.length;
      const free = [...Array(n).keys()].find((i) => i !== x);
      if (which === 'x') $('#sweep-y').value = String(free ?? -1);
      else $('#sweep-x').value = String([...Array(n).keys()].find((i) => i !== y) ?? 0);
    }
    this.setupSlice();
    this.render();
  }

  /** The axis shown neither horizontally nor vertically, if any, and its chosen value. */
  sliceAxis() {
    const cur = this.current;
    if (!cur) return -1;
    const x = Number($('#sweep-x').value);
    const y = Number($('#sweep-y').value);
    return cur.sweep.axes.findIndex((_, i) => i !== x && i !== y);
  }

  setupSlice() {
    const s = this.sliceAxis();
    const field = $('#sweep-slice-field');
    field.hidden = s < 0;
    const select = $('#sweep-slice');
    const previous = select.value;
    select.replaceChildren();
    if (s < 0) return;
    const axis = this.current.sweep.axes[s];
    $('#sweep-slice-name').textContent = axis.path;
    fillSelect(
      select,
      axis.values.map((_, i) => ({ value: String(i), label: valueLabel(axis, i) })),
    );
    select.value = previous && Number(previous) < axis.values.length ? previous : '0';
  }

  renderHead() {
    const cur = this.current;
    const sweep = cur?.sweep;
    $('#sweep-title').textContent = sweep
      ? `${sweep.name || 'sweep'} (${sweep.id}) · ${sweep.axes.map((a) => `${a.path} × ${a.values.length}`).join(' · ')}`
      : 'No sweep yet.';
    const status = $('#sweep-status');
    status.textContent = sweep?.status ?? 'idle';
    status.dataset.status = sweep?.status ?? 'idle';
    const conn = $('#sweep-conn');
    const c = cur?.stream ? cur.conn : 'not needed (stored grid)';
    conn.dataset.state = cur ? c.split(':')[0] : 'idle';
    conn.textContent = cur ? `stream ${c}` : 'stream idle';
    $('#sweep-cancel').disabled = sweep?.status !== 'running';
    if (cur) {
      const ended = cur.cells.filter((x) => ENDED.has(x.status)).length;
      const failed = cur.cells.filter((x) => x.status === 'failed').length;
      $('#sweep-progress').textContent =
        `${ended}/${cur.cells.length} cells ended${failed > 0 ? ` (${failed} failed)` : ''}` +
        (sweep.error ? ` · ${sweep.error}` : '');
    } else {
      $('#sweep-progress').textContent = '';
    }
  }

  scheduleRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderHead();
      this.render();
    });
  }

  /** Draws now (tests call this through the page's hook to read exact figures). */
  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.renderHead();
    this.render();
  }

  render() {
    const cur = this.current;
    const canvas = this.canvas;
    const fig = this.figure;
    if (!cur) {
      this.geometry = null;
      fig.dataset.cells = '0';
      fig.dataset.empty = 'true';
      fig.dataset.total = '0';
      fig.dataset.theoryLines = '0';
      return;
    }
    const { sweep, cells } = cur;
    const axes = sweep.axes;
    const shape = sweep.shape ?? axes.map((a) => a.values.length);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, n) => p * n, 1));
    const xi = Number($('#sweep-x').value);
    const yi = Number($('#sweep-y').value);
    const si = this.sliceAxis();
    const sv = si >= 0 ? Number($('#sweep-slice').value) || 0 : 0;
    const cols = shape[xi];
    const rows = yi >= 0 ? shape[yi] : 1;
    const metric = $('#sweep-metric').value;

    const indexAt = (c, r) => c * strides[xi] + (yi >= 0 ? r * strides[yi] : 0) + (si >= 0 ? sv * strides[si] : 0);

    // Log colour range over the finite positive values in view.
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    if (metric !== 'outcome') {
      for (let c = 0; c < cols; c++)
        for (let r = 0; r < rows; r++) {
          const cell = cells[indexAt(c, r)];
          const v = cell ? metricValue(cell, metric) : null;
          if (v !== null && Number.isFinite(v) && v > 0) {
            lo = Math.min(lo, Math.log10(v));
            hi = Math.max(hi, Math.log10(v));
          }
        }
      if (!Number.isFinite(lo)) {
        lo = 0;
        hi = 1;
      }
      if (hi - lo < 1e-9) {
        lo -= 0.5;
        hi += 0.5;
      }
    }

    const width = Math.max(320, Math.floor(fig.clientWidth || 640) - 4);
    const left = 86;
    const right = 12;
    const top = 22;
    const bottom = 46;
    const plotW = width - left - right;
    const plotH = Math.max(120, Math.min(420, rows * 44));
    const height = top + plotH + bottom;
    const ctx = sizeCanvas(canvas, width, height);
    const cw = plotW / cols;
    const rh = plotH / rows;
    // The first value of the vertical axis sits at the bottom, as on a plot.
    const cellRect = (c, r) => ({ x: left + c * cw, y: top + (rows - 1 - r) * rh, w: cw, h: rh });

    let drawn = 0;
    let nonFinite = 0;
    const inView = [];
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) {
        const index = indexAt(c, r);
        const cell = cells[index];
        const rect = cellRect(c, r);
        inView.push({ index, c, r, rect });
        let color = PENDING_COLOR;
        let text = '';
        let cross = false;
        if (cell && ENDED.has(cell.status)) {
          drawn += 1;
          if (metric === 'outcome') {
            if (cell.outcome) {
              color = OUTCOME_COLORS[cell.outcome] ?? FAILED_COLOR;
              text = cell.outcome;
            } else {
              color = cell.status === 'failed' ? FAILED_COLOR : NO_VALUE_COLOR;
              text = cell.status;
            }
            if (cell.outcome === 'nonfinite' || cell.firstNonFiniteStep !== null) {
              nonFinite += 1;
              cross = true;
            }
          } else {
            const v = metricValue(cell, metric);
            if (v === null) {
              color = NO_VALUE_COLOR;
              text = cell.status === 'succeeded' ? '—' : cell.status;
            } else if (!Number.isFinite(v)) {
              color = NONFINITE_COLOR;
              text = fmt(v);
              cross = true;
              nonFinite += 1;
            } else {
              color = v > 0 ? rampColor((Math.log10(v) - lo) / (hi - lo)) : rampColor(0);
              text = fmt(v, 3);
            }
          }
        } else if (cell && (cell.status === 'running' || cell.status === 'queued')) {
          color = RUNNING_COLOR;
          text = cell.status === 'running' ? '…' : '';
        }
        ctx.fillStyle = color;
        ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 1;
        ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w - 1, rect.h - 1);
        if (cross) {
          ctx.strokeStyle = 'rgba(255, 255, 255, 0.7)';
          ctx.beginPath();
          ctx.moveTo(rect.x + 3, rect.y + 3);
          ctx.lineTo(rect.x + rect.w - 3, rect.y + rect.h - 3);
          ctx.moveTo(rect.x + rect.w - 3, rect.y + 3);
          ctx.lineTo(rect.x + 3, rect.y + rect.h - 3);
          ctx.stroke();
        }
        if (text && cw >= 44 && rh >= 16) {
          ctx.fillStyle = isDark(color) ? '#ffffff' : '#0f172a';
          ctx.fillText(text, rect.x + rect.w / 2, rect.y + rect.h / 2, rect.w - 4);
        }
      }
    }

    // Axis labels: the values under the columns and beside the rows, then the axis names.
    ctx.fillStyle = '#334155';
    const xAxis = axes[xi];
    const labelEvery = Math.max(1, Math.ceil(48 / cw));
    for (let c = 0; c < cols; c += labelEvery)
      ctx.fillText(valueLabel(xAxis, c), left + (c + 0.5) * cw, top + plotH + 12, cw * labelEvery - 2);
    ctx.font = '12px sans-serif';
    ctx.fillText(xAxis.path, left + plotW / 2, top + plotH + 32);
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'right';
    if (yi >= 0) {
      const yAxis = axes[yi];
      const rowEvery = Math.max(1, Math.ceil(14 / rh));
      for (let r = 0; r < rows; r += rowEvery)
        ctx.fillText(valueLabel(yAxis, r), left - 6, top + (rows - 1 - r + 0.5) * rh, left - 10);
      ctx.save();
      ctx.translate(12, top + plotH / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'center';
      ctx.font = '12px sans-serif';
      ctx.fillText(yAxis.path, 0, 0);
      ctx.restore();
    }

    // Theory lines: a boundary on the horizontal axis is a vertical line, and vice versa.
    let theoryDrawn = 0;
    const notes = [];
    for (const line of sweep.theory ?? []) {
      const ai = axes.findIndex((a) => a.path === line.path);
      const pos = ai >= 0 ? axisPosition(axes[ai].values, line.value) : null;
      let where = '';
      if (ai === xi && pos !== null) {
        const x = left + pos * cw;
        this.drawLine(ctx, x, top - 4, x, top + plotH, line.label, x + 4, top - 10, 'left');
        theoryDrawn += 1;
        where = 'drawn as the dashed vertical line';
      } else if (ai === yi && ai >= 0 && pos !== null) {
        const y = top + plotH - pos * rh;
        this.drawLine(ctx, left, y, left + plotW + 4, y, line.label, left + plotW - 2, y - 8, 'right');
        theoryDrawn += 1;
        where = 'drawn as the dashed horizontal line';
      } else if (ai >= 0 && ai === si) {
        where = `on the slice axis ${line.path}: choose it as an axis to see the line`;
      } else {
        where = 'outside the axis range';
      }
      notes.push(`${line.label} at ${line.path} = ${shortNum(line.value)} (${where}): ${line.description}`);
    }
    $('#sweep-theory').textContent = notes.join(' ');

    const sliceText = si >= 0 ? ` · ${axes[si].path} = ${valueLabel(axes[si], sv)}` : '';
    $('#sweep-caption').textContent =
      `${$('#sweep-metric').selectedOptions[0]?.textContent ?? metric} over ${xAxis.path}${yi >= 0 ? ` × ${axes[yi].path}` : ''}${sliceText}`;
    $('#sweep-legend').textContent =
      metric === 'outcome'
        ? `colour: outcome (${Object.keys(OUTCOME_COLORS).join(', ')}); grey: not ended yet; crossed: a non-finite value appeared`
        : `colour: log10 of the value from ${lo.toFixed(1)} (dark) to ${hi.toFixed(1)} (yellow); red crossed: non-finite; pale: no value; grey: not ended yet`;

    this.geometry = { inView, left, top, plotW, plotH, cols, rows, cw, rh };
    fig.dataset.cells = String(drawn);
    fig.dataset.empty = 'false';
    fig.dataset.total = String(rows * cols);
    fig.dataset.nonfinite = String(nonFinite);
    fig.dataset.theoryLines = String(theoryDrawn);
    fig.dataset.metric = metric;
    fig.dataset.sweep = sweep.id;
  }

  drawLine(ctx, x0, y0, x1, y1, label, lx, ly, align) {
    ctx.save();
    ctx.strokeStyle = THEORY_COLOR;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    ctx.fillStyle = THEORY_COLOR;
    ctx.font = 'bold 12px sans-serif';
    ctx.textAlign = align;
    ctx.fillText(label, lx, ly);
    ctx.restore();
  }

  cellAt(ev) {
    const g = this.geometry;
    if (!g) return null;
    const x = ev.offsetX;
    const y = ev.offsetY;
    if (x < g.left || x >= g.left + g.plotW || y < g.top || y >= g.top + g.plotH) return null;
    const c = Math.floor((x - g.left) / g.cw);
    const r = g.rows - 1 - Math.floor((y - g.top) / g.rh);
    const hit = g.inView.find((v) => v.c === c && v.r === r);
    return hit ? (this.current?.cells[hit.index] ?? null) : null;
  }

  /**
   * A cell carries the deprecated single outcome only; its job's summary has the two verdicts and
   * the clipping activity. Fetched once per job on hover, then the read-out is redrawn.
   */
  verdictOf(cell) {
    if (!cell.jobId || !ENDED.has(cell.status)) return null;
    const known = this.verdicts.get(cell.jobId);
    if (known !== undefined) return known;
    this.verdicts.set(cell.jobId, null);
    api(`/v1/jobs/${encodeURIComponent(cell.jobId)}`)
      .then((job) => {
        this.verdicts.set(cell.jobId, verdictText(job.summary) || null);
        if (this.hovered === cell) this.showHover(cell);
      })
      .catch(() => this.verdicts.delete(cell.jobId));
    return null;
  }

  hover(ev) {
    const cell = this.cellAt(ev);
    this.hovered = cell;
    this.showHover(cell);
  }

  showHover(cell) {
    const out = $('#sweep-hover');
    if (!cell) {
      out.textContent = 'Hover a cell for its numbers; click it to open its run.';
      delete out.dataset.verdict;
      return;
    }
    const verdict = this.verdictOf(cell);
    if (verdict) out.dataset.verdict = verdict;
    else delete out.dataset.verdict;
    const axes = this.current.sweep.axes;
    const coords = axes.map((a, i) => {
      const k = a.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(cell.coords[i]));
      return `${a.path} = ${k >= 0 ? valueLabel(a, k) : JSON.stringify(cell.coords[i])}`;
    });
    const p = /** @type {Partial<Schemas['SweepCellPrediction']>} */ (cell.predicted ?? {});
    const prediction = [
      p.layerGradFactor !== null && p.layerGradFactor !== undefined
        ? `predicted gain^(L−1) ${fmt(p.layerGradFactor)}`
        : '',
      p.chi1 !== null && p.chi1 !== undefined ? `χ₁ ${fmt(p.chi1)}, ξ ${fmt(p.depthScale)}` : '',
      p.lambda1 !== null && p.lambda1 !== undefined ? `λ₁ ${fmt(p.lambda1)}` : '',
    ].filter(Boolean);
    out.textContent = [
      coords.join(', '),
      `${cell.status}${verdict ? ` · ${verdict}` : cell.outcome ? ` · outcome ${cell.outcome}` : ''}`,
      cell.firstNonFiniteStep !== null ? `non-finite at step ${cell.firstNonFiniteStep}` : '',
      `loss ${fmt(cell.firstLoss)} → ${fmt(cell.finalLoss)}`,
      `max ‖g‖ ${fmt(cell.maxGradNorm)}`,
      `backward gain ${fmt(cell.backwardGain)}`,
      ...prediction,
      cell.jobId ? `job ${cell.jobId} (click to open)` : 'not submitted yet',
    ]
      .filter(Boolean)
      .join(' · ');
  }

  click(ev) {
    const cell = this.cellAt(ev);
    if (cell?.jobId) this.openJob(cell.jobId);
  }

  shown() {
    this.visible = true;
    this.render();
    this.refreshList();
  }

  hidden() {
    this.visible = false;
  }

  showListError(err) {
    const box = $('#sweeps-error');
    box.hidden = !err;
    box.textContent = err ? `Sweeps: ${err.message}` : '';
  }

  async refreshList() {
    clearTimeout(this.listTimer);
    this.listTimer = 0;
    let items;
    try {
      const body = /** @type {Schemas['SweepList']} */ (await api('/v1/sweeps?limit=20'));
      items = body.items ?? [];
      this.showListError(null);
    } catch (err) {
      this.showListError(err);
      return;
    }
    const tbody = $('#sweeps-body');
    tbody.replaceChildren();
    for (const s of items) {
      const tr = document.createElement('tr');
      tr.dataset.sweep = s.id;
      const cellText = (t) => {
        const td = document.createElement('td');
        td.textContent = t;
        tr.append(td);
        return td;
      };
      cellText(`${s.name || '(unnamed)'}\n${s.id}`);
      const st = cellText('');
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.dataset.status = s.status;
      badge.textContent = s.status;
      st.append(badge);
      const by = s.progress.byStatus;
      cellText(
        `${s.progress.done}/${s.progress.total}` +
          (by.failed > 0 ? ` · ${by.failed} failed` : '') +
          (by.cancelled > 0 ? ` · ${by.cancelled} cancelled` : ''),
      );
      cellText(new Date(s.createdAt).toLocaleString());
      const actions = cellText('');
      const div = document.createElement('div');
      div.className = 'row-actions';
      div.append(this.button('Open', () => this.open(s.id).catch((err) => this.showListError(err))));
      if (s.status === 'running') div.append(this.button('Cancel', () => this.cancel(s.id), 'cancel'));
      actions.append(div);
      tbody.append(tr);
    }
    // While a sweep runs and the tab is open, keep its progress current.
    if (this.visible && items.some((s) => s.status === 'running'))
      this.listTimer = setTimeout(() => this.refreshList(), 1000);
  }

  button(text, onClick, cls = '') {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
  }

  /** A read-only view for tests: the sweep, its stream and where each cell in view is drawn. */
  view() {
    const cur = this.current;
    if (!cur) return null;
    const fig = this.figure;
    return Object.freeze({
      id: cur.sweep.id,
      status: cur.sweep.status,
      shape: cur.sweep.shape.slice(),
      ended: cur.cells.filter((c) => ENDED.has(c.status)).length,
      cellsDrawn: Number(fig.dataset.cells),
      total: Number(fig.dataset.total),
      theoryLines: Number(fig.dataset.theoryLines),
      events: cur.events,
      stream: cur.stream ? Object.freeze({ ...cur.stream.stats, finished: cur.stream.finished }) : null,
      cells: (this.geometry?.inView ?? []).map((v) => {
        const cell = cur.cells[v.index];
        return Object.freeze({
          index: v.index,
          jobId: cell?.jobId ?? null,
          status: cell?.status ?? null,
          outcome: cell?.outcome ?? null,
          coords: cell?.coords ?? null,
          x: v.rect.x + v.rect.w / 2,
          y: v.rect.y + v.rect.h / 2,
        });
      }),
    });
  }
}

function isDark(color) {
  const m = color.match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i) ?? color.match(/(\d+), (\d+), (\d+)/);
  if (!m) return false;
  const [r, g, b] = m
    .slice(1, 4)
    .map((x) => (x.length === 2 && color.startsWith('#') ? Number.parseInt(x, 16) : Number(x)));
  return 0.299 * r + 0.587 * g + 0.114 * b < 140;
}
