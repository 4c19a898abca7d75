// The dashboard: wires the form, the API, the streams and the charts together.

import { ApiError, api, getApiKey, setApiKey } from './api.js';
/**
 * @import { components } from '../../clients/ts/src/openapi.js'
 * @typedef {components['schemas']} Schemas
 */
import { HeatMap, LogChart, layerColor, PALETTE } from './charts.js';
import { fillSelect } from './dom.js';
import { SpecForm } from './form.js';
import { fmt } from './num.js';
import { predictedBackwardProfile, Run } from './run.js';
import { openStream } from './stream.js';
import { SweepView } from './sweeps.js';
import { renderVerdict, verdictText } from './verdict.js';

// The per-layer line chart shows at most this many layers (evenly spaced, first and last kept);
// the heat map shows them all.
const MAX_LAYER_LINES = 10;

const $ = (sel) => document.querySelector(sel);

const state = {
  presets: [],
  current: null, // { run, stream }
  compare: null, // { a: {run, stream}, b: {run, stream}, mitigationLabel }
  jobs: { items: [], nextCursor: null },
  errors: [],
};

const GENERIC_MITIGATIONS = [
  { id: 'clip-norm', title: 'clip-norm (max norm 1)', mitigation: { kind: 'clip-norm', maxNorm: 1 } },
  { id: 'clip-value', title: 'clip-value (max value 0.5)', mitigation: { kind: 'clip-value', maxValue: 0.5 } },
  { id: 'batch-norm', title: 'batch-norm (mlp only)', mitigation: { kind: 'batch-norm' } },
  {
    id: 'lr-schedule',
    title: 'lr-schedule (warm-up + cosine decay)',
    mitigation: { kind: 'lr-schedule', warmupSteps: 10, decay: 'cosine' },
  },
  { id: 'input-normalization', title: 'input-normalization', mitigation: { kind: 'input-normalization' } },
];

// ---------------------------------------------------------------- charts

const charts = {
  grad: new LogChart($('#chart-grad'), {
    series: [{ label: '‖g‖ pre-clip' }, { label: '‖g‖ post-clip', color: PALETTE[2], dash: [6, 3] }],
    yLabel: 'gradient norm',
  }),
  loss: new LogChart($('#chart-loss'), { series: [{ label: 'loss', color: PALETTE[1] }], yLabel: 'loss' }),
  heat: new HeatMap($('#chart-heat'), $('#heat-canvas'), $('#heat-legend')),
  backward: new LogChart($('#chart-backward'), { series: [{ label: '—' }], yLabel: '‖∂L/∂z_l‖' }),
  layers: new LogChart($('#chart-layers'), { series: [{ label: '—' }], yLabel: '‖∂L/∂W_l‖' }),
  depth: new LogChart($('#chart-depth'), {
    series: [{ label: '—' }],
    xLabel: 'layer l',
    yLabel: '‖∂L/∂z_l‖, ‖∂L/∂W_l‖',
  }),
  time: new LogChart($('#chart-time'), {
    series: [{ label: 'step 1' }, { label: 'latest step', color: PALETTE[1] }],
    xLabel: 't',
    yLabel: '‖∂L/∂h_t‖',
  }),
  cmpGrad: new LogChart($('#chart-cmp-grad'), {
    series: [
      { label: 'without', color: PALETTE[1] },
      { label: 'with', color: PALETTE[0] },
    ],
    yLabel: 'gradient norm',
    pointAttrs: { 0: 'data-points-a', 1: 'data-points-b' },
  }),
  cmpLoss: new LogChart($('#chart-cmp-loss'), {
    series: [
      { label: 'without', color: PALETTE[1] },
      { label: 'with', color: PALETTE[0] },
    ],
    yLabel: 'loss',
    pointAttrs: { 0: 'data-points-a', 1: 'data-points-b' },
  }),
};
let layerSeriesKey = '';
let backwardSeriesKey = '';
let depthSeriesKey = '';

function pickLayers(n) {
  if (n <= MAX_LAYER_LINES) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set();
  for (let k = 0; k < MAX_LAYER_LINES; k++) picked.add(Math.round((k * (n - 1)) / (MAX_LAYER_LINES - 1)));
  return [...picked];
}

/** Marks a chart empty (its placeholder shows) or filled. */
function setEmpty(sel, empty, predicted = false) {
  const fig = $(sel);
  fig.dataset.empty = String(empty);
  fig.dataset.predicted = String(predicted);
}

/** One line per shown layer, coloured along a ramp from the first layer (dark) to the last. */
function layerSeries(run, shown, none) {
  return shown.length > 0
    ? shown.map((i, k) => ({ label: run.layerNames[i], color: layerColor(k, shown.length) }))
    : [{ label: none }];
}

function renderCharts(run) {
  const mark = run.nonfinite?.step ?? null;
  const hasSteps = run.steps.length > 0;
  charts.grad.update(run.steps, [run.gradNorm, run.clippedGradNorm], mark);
  charts.loss.update(run.steps, [run.loss], mark);
  charts.heat.update(run.steps, run.layerGrad, run.layerNames, mark);
  setEmpty('#chart-grad', !hasSteps);
  setEmpty('#chart-loss', !hasSteps);
  setEmpty('#chart-heat', !hasSteps);

  const shown = pickLayers(run.layerGrad.length);
  const key = shown.map((i) => run.layerNames[i]).join(',');
  if (key !== layerSeriesKey) {
    layerSeriesKey = key;
    charts.layers.setSeries(layerSeries(run, shown, '(no layers recorded)'));
  }
  charts.layers.update(run.steps, shown.length > 0 ? shown.map((i) => run.layerGrad[i]) : [[]], mark);
  setEmpty('#chart-layers', !hasSteps);

  renderBackward(run, shown, mark);
  renderDepth(run);
  renderTime(run);
}

function renderBackward(run, shown, mark) {
  const fig = $('#chart-backward');
  const kind = run.spec?.network?.kind;
  const placeholder = fig.querySelector('.placeholder');
  if (kind === 'rnn') {
    placeholder.textContent =
      'An rnn has no layers to fan across: its backward signal travels through time, ‖∂L/∂h_t‖, drawn below when record.hiddenGradNorms is on.';
  } else if (run.steps.length > 0 && !run.hasBackward) {
    placeholder.textContent = 'This server does not report the backward signal ‖∂L/∂z_l‖ (older API).';
  } else {
    placeholder.textContent = placeholder.dataset.initial ?? placeholder.textContent;
  }
  const key = shown.map((i) => run.layerNames[i]).join(',');
  if (key !== backwardSeriesKey) {
    backwardSeriesKey = key;
    charts.backward.setSeries(layerSeries(run, shown, '(no layers recorded)'));
  }
  const cols = run.hasBackward && shown.length > 0 ? shown.map((i) => run.layerBackward[i]) : [[]];
  charts.backward.update(run.hasBackward ? run.steps : [], cols, mark);
  setEmpty('#chart-backward', !(run.hasBackward && run.steps.length > 0));
}

/** The depth chart before any run: the theory for the spec in the form, relative to layer L. */
function renderDepthPrediction(spec) {
  const predicted = predictedBackwardProfile(spec);
  const note = $('#depth-note');
  depthSeriesKey = 'prediction';
  charts.depth.setSeries([
    {
      label: predicted ? `theory ‖∂L/∂z_l‖/‖∂L/∂z_L‖ = ${fmt(predicted.gain)}^(L−l)` : '—',
      color: PALETTE[1],
      width: 2,
      points: { show: true, size: 6 },
    },
  ]);
  if (predicted) {
    charts.depth.update(
      predicted.profile.map((_, i) => i + 1),
      [predicted.profile],
    );
    note.textContent =
      `Theory for this spec (W = ${fmt(predicted.gain)}·I, L = ${predicted.depth}): the backward signal is multiplied by ` +
      `${fmt(predicted.gain)} at every layer on its way down, ${fmt(predicted.factor, 4)}× at layer 1. Press Run to measure it.`;
  } else {
    charts.depth.update([], [[]]);
    note.textContent = '';
  }
  charts.depth.flush();
  setEmpty('#chart-depth', true, Boolean(predicted));
}

function renderDepth(run) {
  const fig = $('#chart-depth');
  const kind = run.spec?.network?.kind;
  const L = run.layerGrad.length;
  const wasHidden = fig.hidden;
  fig.hidden = kind === 'rnn' || L === 0;
  if (fig.hidden) return;
  if (wasHidden) charts.depth.resize();
  const xs = Array.from({ length: L }, (_, i) => i + 1);
  const n = run.steps.length;
  const column = (cols, idx) => (idx < 0 || idx >= n ? xs.map(() => null) : cols.map((col) => col[idx]));
  const predicted = predictedBackwardProfile(run.spec);
  const series = [];
  const ys = [];
  // The latest step at which every layer's signal is finite (a blown-up step draws nothing).
  let latest = n - 1;
  while (latest > 0 && !run.layerBackward.every((col) => Number.isFinite(col[latest]))) latest--;
  if (run.hasBackward) {
    series.push(
      { label: '‖∂L/∂z_l‖ step 1', color: PALETTE[0], width: 2, points: { show: true, size: 6 } },
      { label: '‖∂L/∂z_l‖ latest finite step', color: PALETTE[4], dash: [4, 3] },
    );
    ys.push(column(run.layerBackward, 0), column(run.layerBackward, latest));
    if (predicted) {
      // The closed form fixes the ratios; its scale is layer L's measured value at step 1.
      const last = n > 0 ? run.layerBackward[L - 1][0] : Number.NaN;
      series.push({
        label: `theory ${fmt(predicted.gain)}^(L−l) × ‖∂L/∂z_L‖`,
        color: PALETTE[1],
        width: 1,
        dash: [8, 4],
      });
      ys.push(predicted.profile.map((p) => p * last));
    }
  }
  series.push({ label: '‖∂L/∂W_l‖ step 1', color: PALETTE[3], dash: [2, 3], points: { show: true, size: 4 } });
  ys.push(column(run.layerGrad, 0));
  const key = series.map((s) => s.label).join('|');
  if (key !== depthSeriesKey) {
    depthSeriesKey = key;
    charts.depth.setSeries(series);
  }
  charts.depth.update(xs, ys);
  setEmpty('#chart-depth', n === 0, false);
  const note = $('#depth-note');
  const bg = run.summary?.gradients?.backwardGain ?? run.summary?.backwardGain;
  const measured = n > 0 && run.hasBackward ? run.layerBackward[0][0] / run.layerBackward[L - 1][0] : null;
  if (predicted) {
    note.textContent =
      `W = ${fmt(predicted.gain)}·I, L = ${predicted.depth}: the backward signal is multiplied by the gain at every layer, ` +
      `theory ‖∂L/∂z_1‖/‖∂L/∂z_L‖ = ${fmt(predicted.gain)}^${predicted.depth - 1} = ${fmt(predicted.factor, 6)}` +
      (measured !== null && Number.isFinite(measured) ? `, measured ${fmt(measured, 6)}` : '') +
      (bg !== null && bg !== undefined ? ` (summary’s backward gain ${fmt(bg, 6)})` : '') +
      (n > 1 && run.hasBackward ? `; the dashed line is step ${run.steps[latest]}` : '') +
      '. The weight gradients ‖∂L/∂W_l‖ stay level: the forward signal reaching layer l grows by the gain per layer ' +
      'exactly as the backward signal shrinks.';
  } else if (run.hasBackward) {
    note.textContent =
      'The backward signal relative to the last layer: rising towards layer 1 means exploding, falling means vanishing. ' +
      'No closed form for this network; the weight gradients are drawn for contrast.';
  } else {
    note.textContent = 'Per-layer weight-gradient norms at step 1 (this server does not report the backward signal).';
  }
}

function renderTime(run) {
  const fig = $('#chart-time');
  const h = run.hiddenLast;
  const wasHidden = fig.hidden;
  fig.hidden = !h;
  if (!h) return;
  // A chart built while hidden had no width to measure.
  if (wasHidden) charts.time.resize();
  const xs = Array.from({ length: h.length }, (_, i) => i + 1);
  charts.time.update(xs, [run.hiddenFirst, h]);
}

// ---------------------------------------------------------------- run panel

function renderRunHead(run, connState) {
  $('#run-title').textContent = run ? `${run.label || run.jobId} (${run.jobId ?? '…'})` : 'No run yet.';
  const status = $('#run-status');
  status.textContent = run?.status ?? 'idle';
  status.dataset.status = run?.status ?? 'idle';
  if (connState !== undefined) {
    const conn = $('#conn-status');
    conn.dataset.state = connState;
    conn.textContent = `stream ${connState}`;
  }
  $('#cancel-run').disabled = !run || run.ended || !run.jobId;
  const banner = $('#nonfinite-banner');
  const nf = run?.nonfinite;
  banner.hidden = !nf;
  if (nf) {
    banner.textContent = `First non-finite value at step ${nf.step}: ${nf.where} = ${fmt(nf.value)}`;
    banner.dataset.step = String(nf.step);
  }
  const err = $('#run-error');
  err.hidden = !run?.error;
  err.textContent = run?.error ? `The job failed: ${run.error}` : '';
  const verdict = $('#verdict');
  if (run?.summary) {
    renderVerdict(verdict, run.summary);
    verdict.dataset.state = 'done';
  } else if (run) {
    verdict.textContent = run.ended
      ? 'No summary (the job did not finish).'
      : 'Running: the verdicts arrive with the last step.';
    verdict.dataset.state = 'running';
    verdict.dataset.gradients = '';
    verdict.dataset.training = '';
    verdict.dataset.clippedFraction = '';
  }
  renderSummary($('#summary'), run?.summary, run);
}

function renderSummary(dl, summary, run) {
  dl.replaceChildren();
  if (!summary) return;
  const g = summary.gradients;
  const t = summary.training;
  const clip = summary.mitigation?.clipping;
  const rows = [];
  if (g || t) {
    if (g) rows.push(['gradients', g.verdict, g.verdict]);
    if (t) rows.push(['training', t.verdict, t.verdict]);
    if (clip) {
      rows.push(['steps clipped', `${clip.stepsClipped} of ${summary.stepsRun}`]);
      // maxFactor = ‖g‖/‖g_clipped‖ at the step clipping cut hardest (1 when it never acted).
      rows.push(['gradient cut by up to', `${fmt(clip.maxFactor)}×`]);
    }
  } else {
    rows.push(['outcome (deprecated)', summary.outcome, summary.outcome]);
  }
  rows.push(
    ['steps run', summary.stepsRun],
    ['first non-finite step', summary.firstNonFiniteStep ?? '—'],
    ['backward gain (step 1)', fmt(g?.backwardGain ?? summary.backwardGain, 6)],
  );
  if (g && g.normGrowth !== undefined) rows.push(['‖g‖ growth over the run', fmt(g.normGrowth)]);
  rows.push(['first loss', fmt(summary.firstLoss)], ['final loss', fmt(summary.finalLoss)]);
  if (t && t.lossRatio !== undefined) rows.push(['final / first loss', fmt(t.lossRatio)]);
  rows.push(
    ['max ‖g‖', fmt(summary.maxGradNorm)],
    ['min ‖g‖', fmt(summary.minGradNorm)],
    ['‖∂L/∂W_1‖/‖∂L/∂W_L‖', fmt(summary.layerGradRatio)],
  );
  if (summary.predictedLayerGradFactor !== null && summary.predictedLayerGradFactor !== undefined) {
    rows.push(['theory gain^(L−1)', fmt(summary.predictedLayerGradFactor, 6)]);
  }
  for (const [k, v, label] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    if (label) dd.dataset.outcome = String(label);
    // A div per pair keeps each label above its value however the grid wraps.
    const pair = document.createElement('div');
    pair.append(dt, dd);
    dl.append(pair);
  }
  dl.dataset.outcome = summary.outcome ?? '';
  dl.dataset.gradients = g?.verdict ?? '';
  dl.dataset.training = t?.verdict ?? '';
  if (run) dl.dataset.job = run.jobId ?? '';
}

function stopCurrent() {
  state.current?.stream?.close();
  state.current = null;
}

/** Streams a job into a Run, calling `onChange(run, connState?)` as events arrive. */
function follow(run, from, onChange) {
  return openStream(run.jobId, {
    from,
    onEvent: (event) => {
      run.apply(event);
      onChange(run);
      if (event.type === 'done') refreshJobs();
    },
    onState: (s, detail) => {
      if (s === 'failed') run.error = run.error ?? `stream: ${detail}`;
      onChange(run, s);
    },
  });
}

function showRun(run, stream) {
  stopCurrent();
  state.current = { run, stream };
  layerSeriesKey = '';
  backwardSeriesKey = '';
  depthSeriesKey = '';
  renderRunHead(run, stream ? 'connecting' : 'idle');
  renderCharts(run);
  selectTab('run');
}

function onRunChange(run, connState) {
  if (state.current?.run !== run) return;
  renderRunHead(run, connState);
  renderCharts(run);
}

async function submit(spec) {
  return api('/v1/jobs', { method: 'POST', body: spec });
}

function reportSubmitError(err) {
  if (err instanceof ApiError) {
    const p = err.problem;
    const list = err.fieldErrors;
    const head = `${p.title ?? 'Refused'} (${err.status})`;
    form.showErrors(
      list,
      list.length > 0 ? `${head}: ${list.length} field(s) need attention, marked below.` : `${head}: ${p.detail ?? ''}`,
    );
  } else {
    form.showErrors([], String(err.message ?? err));
  }
}

async function runCurrentSpec() {
  let spec;
  try {
    spec = form.getSpec();
  } catch (err) {
    form.showErrors([{ path: '', message: `The JSON does not parse: ${err.message}` }]);
    return;
  }
  form.clearErrors();
  const button = $('#run');
  button.disabled = true;
  try {
    const job = await submit(spec);
    const run = new Run({
      jobId: job.id,
      spec: job.spec ?? spec,
      label: spec.name || $('#preset').selectedOptions[0]?.textContent || 'run',
    });
    run.status = job.status;
    showRun(run, null);
    state.current.stream = follow(run, 0, onRunChange);
    refreshJobs();
  } catch (err) {
    reportSubmitError(err);
  } finally {
    button.disabled = false;
  }
}

async function cancelJob(id) {
  try {
    await api(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (err) {
    // 409: it ended meanwhile, which is what the user wanted anyway.
    if (!(err instanceof ApiError && err.status === 409)) showJobsError(err);
  }
  refreshJobs();
}

// ---------------------------------------------------------------- compare

function compareChoices() {
  const preset = state.presets.find((p) => p.id === $('#preset').value);
  /** @type {{ id: string, title: string, variant?: Schemas['MitigatedPresetInput'], mitigation?: object }[]} */
  const choices = [];
  for (const v of preset?.mitigated ?? []) {
    choices.push({ id: `preset:${v.id}`, title: `preset variant: ${v.title}`, variant: v });
  }
  for (const g of GENERIC_MITIGATIONS) choices.push(g);
  return choices;
}

function renderCompareChoices() {
  const select = $('#compare-with');
  fillSelect(
    select,
    compareChoices().map((c) => ({ value: c.id, label: c.title })),
  );
}

function compareSpecs(base, choice) {
  const seed = base.seed ?? 0;
  const without = structuredClone(base);
  without.seed = seed;
  let withIt;
  if (choice.variant) {
    withIt = structuredClone(choice.variant.spec);
  } else {
    without.mitigations = (without.mitigations ?? []).filter((m) => m.kind !== choice.mitigation.kind);
    withIt = structuredClone(without);
    withIt.mitigations = [...withIt.mitigations, structuredClone(choice.mitigation)];
  }
  // The same seed draws the same initial weights and data, so only the mitigation differs.
  withIt.seed = seed;
  // Names are at most 200 characters (the job-spec schema); a variant's title says what changed.
  const name = (text) => (text.length > 200 ? `${text.slice(0, 199)}…` : text);
  without.name = name(`${base.name ?? 'run'} — without`);
  withIt.name = name(`${base.name ?? 'run'} — with ${choice.variant ? choice.variant.title : choice.mitigation.kind}`);
  return { without, withIt };
}

function mergeSteps(a, b) {
  const set = new Set([...a.steps, ...b.steps]);
  const xs = [...set].sort((x, y) => x - y);
  const align = (run, col) => {
    const m = new Map();
    for (let i = 0; i < run.steps.length; i++) m.set(run.steps[i], col[i]);
    return xs.map((s) => (m.has(s) ? m.get(s) : null));
  };
  return { xs, align };
}

function renderCompare() {
  const c = state.compare;
  if (!c) return;
  const { a, b } = c;
  const { xs, align } = mergeSteps(a.run, b.run);
  // The chart marks one step: the first run to go non-finite (usually the one without the mitigation).
  const mark = a.run.nonfinite?.step ?? b.run.nonfinite?.step ?? null;
  charts.cmpGrad.update(xs, [align(a.run, a.run.gradNorm), align(b.run, b.run.gradNorm)], mark);
  charts.cmpLoss.update(xs, [align(a.run, a.run.loss), align(b.run, b.run.loss)], mark);
  setEmpty('#chart-cmp-grad', xs.length === 0);
  setEmpty('#chart-cmp-loss', xs.length === 0);
  for (const [side, part, title] of [
    ['#compare-a', a, 'without'],
    ['#compare-b', b, `with ${c.mitigationLabel}`],
  ]) {
    const host = $(side);
    host.replaceChildren();
    const h = document.createElement('h3');
    h.textContent = `${title}: ${part.run.status}`;
    host.dataset.status = part.run.status;
    const verdict = document.createElement('p');
    verdict.className = 'verdict';
    if (part.run.summary) renderVerdict(verdict, part.run.summary);
    else verdict.textContent = part.run.ended ? 'no summary' : 'running…';
    const dl = document.createElement('dl');
    dl.className = 'summary';
    renderSummary(dl, part.run.summary, part.run);
    host.append(h, verdict, dl);
  }
}

/**
 * The clipping to compare with in one click: the preset's own clipped variant when it has one
 * (its settings are the ones shown to work), else clip-norm 1 added to the spec.
 */
function clipChoice() {
  const choices = compareChoices();
  return (
    choices.find((c) => c.variant?.spec?.mitigations?.some((m) => m.kind === 'clip-norm')) ??
    choices.find((c) => c.id === 'clip-norm')
  );
}

async function runCompare(chosen = null) {
  let base;
  try {
    base = form.getSpec();
  } catch (err) {
    form.showErrors([{ path: '', message: `The JSON does not parse: ${err.message}` }]);
    return;
  }
  const choice = chosen ?? compareChoices().find((c) => c.id === $('#compare-with').value);
  if (!choice) return;
  const { without, withIt } = compareSpecs(base, choice);
  form.clearErrors();
  const button = chosen ? $('#run-clipped') : $('#compare');
  button.disabled = true;
  try {
    const jobA = await submit(without);
    const jobB = await submit(withIt);
    state.compare?.a.stream.close();
    state.compare?.b.stream.close();
    const runA = new Run({ jobId: jobA.id, spec: jobA.spec, label: 'without' });
    const runB = new Run({ jobId: jobB.id, spec: jobB.spec, label: 'with' });
    const onChange = () => renderCompare();
    state.compare = {
      a: { run: runA, stream: follow(runA, 0, onChange) },
      b: { run: runB, stream: follow(runB, 0, onChange) },
      mitigationLabel: choice.variant ? choice.variant.title : choice.title,
    };
    $('#compare-title').textContent =
      `Same spec and seed (${without.seed}), without vs with ${state.compare.mitigationLabel}`;
    selectTab('compare');
    renderCompare();
    refreshJobs();
  } catch (err) {
    reportSubmitError(err);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- jobs

function showJobsError(err) {
  const box = $('#jobs-error');
  box.hidden = !err;
  box.textContent = err ? String(err.message ?? err) : '';
}

let jobsLoading = null;
async function refreshJobs(append = false) {
  if (jobsLoading && !append) return jobsLoading;
  const params = new URLSearchParams({ limit: '20' });
  const status = $('#jobs-status').value;
  if (status) params.set('status', status);
  if (append && state.jobs.nextCursor) params.set('cursor', state.jobs.nextCursor);
  const load = (async () => {
    try {
      const page = /** @type {Schemas['JobPage']} */ (await api(`/v1/jobs?${params}`));
      state.jobs.items = append ? [...state.jobs.items, ...page.items] : page.items;
      state.jobs.nextCursor = page.nextCursor ?? null;
      state.jobs.appended = append;
      showJobsError(null);
      renderJobs();
    } catch (err) {
      showJobsError(err);
    }
  })();
  if (!append)
    jobsLoading = load.finally(() => {
      jobsLoading = null;
    });
  return load;
}

function button(text, onClick, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (cls) b.className = cls;
  b.addEventListener('click', onClick);
  return b;
}

// While the list is on screen and shows live jobs, it refreshes itself (progress, status).
const JOBS_POLL_MS = 2000;
let jobsPoll = 0;
function pollJobsWhileLive() {
  clearTimeout(jobsPoll);
  // A refresh reloads the first page only: not while the user is reading further pages.
  if (state.jobs.appended) return;
  const visible = !$('#tab-jobs').hidden;
  const live = state.jobs.items.some((j) => j.status === 'queued' || j.status === 'running');
  if (visible && live) jobsPoll = setTimeout(() => refreshJobs(), JOBS_POLL_MS);
}

function renderJobs() {
  const body = $('#jobs-body');
  body.replaceChildren();
  for (const job of state.jobs.items) {
    const tr = document.createElement('tr');
    tr.dataset.job = job.id;
    tr.dataset.status = job.status;
    const cells = [
      `${job.name ?? '(unnamed)'}\n${job.id}`,
      job.status,
      verdictText(job.summary) || '—',
      `${job.progress?.step ?? 0}/${job.progress?.steps ?? '?'}`,
      new Date(job.createdAt).toLocaleTimeString(),
    ];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.status = job.status;
    badge.textContent = job.status;
    tr.children[1].replaceChildren(badge);
    const actions = document.createElement('div');
    actions.className = 'row-actions';
    actions.append(button('Open', () => openJob(job.id), 'open'));
    if (job.status === 'queued' || job.status === 'running') {
      actions.append(button('Cancel', () => cancelJob(job.id), 'cancel'));
    }
    actions.append(button('CSV', () => downloadCsv(job.id), 'csv'));
    const td = document.createElement('td');
    td.append(actions);
    tr.append(td);
    body.append(tr);
  }
  $('#jobs-more').hidden = !state.jobs.nextCursor;
  pollJobsWhileLive();
}

async function openJob(id) {
  try {
    const job = /** @type {Schemas['Job']} */ (await api(`/v1/jobs/${encodeURIComponent(id)}`));
    const run = new Run({ jobId: id, spec: job.spec, label: job.name ?? id });
    if (job.status === 'queued' || job.status === 'running') {
      // A live job is replayed from the start over the stream, then followed.
      showRun(run, null);
      state.current.stream = follow(run, 0, onRunChange);
    } else {
      const result = /** @type {Schemas['JobResult']} */ (await api(`/v1/jobs/${encodeURIComponent(id)}/result`));
      run.loadResult(result);
      showRun(run, null);
      renderRunHead(run, 'not needed (stored result)');
    }
    form.setSpec(job.spec);
    // The form now holds this job's spec, not a preset's.
    $('#preset').value = '';
    $('#preset-description').textContent =
      `Reopened job ${id}: its spec as the server parsed it (every default filled in).`;
    renderCompareChoices();
  } catch (err) {
    showJobsError(err);
  }
}

async function downloadCsv(id) {
  try {
    const blob = await api(`/v1/jobs/${encodeURIComponent(id)}/result?format=csv`, { as: 'blob' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `gradient-lab-${id}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    showJobsError(err);
  }
}

// ---------------------------------------------------------------- presets, tabs, setup

async function loadPresets() {
  const select = $('#preset');
  let loadError = null;
  try {
    const body = /** @type {Schemas['PresetCatalogInput']} */ (await api('/v1/presets'));
    state.presets = body.presets;
  } catch (err) {
    state.presets = [];
    loadError = err;
  }
  fillSelect(select, [
    { value: '', label: '(custom)' },
    ...state.presets.map((p) => ({ value: p.id, label: p.title })),
  ]);
  if (state.presets.length > 0) {
    // The first screen is the textbook: W = 1.5·I, whose backward signal fans out across the layers.
    select.value = (state.presets.find((p) => p.id === 'textbook-exploding') ?? state.presets[0]).id;
    applyPreset();
  } else {
    form.setSpec({ network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } } });
    renderCompareChoices();
  }
  // After setSpec, which clears the form's messages.
  if (loadError) {
    const status = loadError instanceof ApiError ? ` (HTTP ${loadError.status})` : '';
    form.showErrors([], `Could not load the presets${status}: ${loadError.message}`);
  }
}

function applyPreset() {
  const p = state.presets.find((x) => x.id === $('#preset').value);
  const expected =
    p?.expectedGradients || p?.expectedTraining
      ? `expected: gradients ${p.expectedGradients ?? '?'} · training ${p.expectedTraining ?? '?'}`
      : p?.expectedOutcome && `expected outcome: ${p.expectedOutcome}`;
  const tags = p ? [p.phenomenon, expected].filter(Boolean) : [];
  $('#preset-description').textContent = p
    ? `${tags.length > 0 ? `[${tags.join('; ')}] ` : ''}${p.description ?? ''}`
    : '';
  if (p) form.setSpec(p.spec);
  renderCompareChoices();
  // Before any run, the depth chart shows what theory predicts for this spec.
  if (!state.current) renderDepthPrediction(p?.spec ?? null);
}

function selectTab(name) {
  for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-tab]')))
    b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const t of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.tab')))
    t.hidden = t.id !== `tab-${name}`;
  // Charts sized while hidden have no width: size them now that they show.
  requestAnimationFrame(() => {
    for (const c of Object.values(charts)) /** @type {{ resize?: () => void }} */ (c).resize?.();
    if (state.current) renderCharts(state.current.run);
    if (name === 'compare') renderCompare();
  });
  if (name === 'jobs') refreshJobs();
  if (name === 'sweeps') requestAnimationFrame(() => sweeps.shown());
  else sweeps.hidden();
}

const form = new SpecForm($('#spec-form'));
// A cell of a sweep opens in the Run view through the same code as the job list's Open.
const sweeps = new SweepView({ openJob: (id) => openJob(id) });

$('#api-key').value = getApiKey();
function applyApiKey() {
  const key = $('#api-key').value.trim();
  if (key === getApiKey()) return;
  setApiKey(key);
  loadPresets();
  refreshJobs();
  sweeps.loadPresets();
  sweeps.refreshList();
}
$('#api-key').addEventListener('change', applyApiKey);
$('#api-key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  applyApiKey();
});
$('#preset').addEventListener('change', applyPreset);
$('#spec-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  runCurrentSpec();
});
$('#cancel-run').addEventListener('click', () => {
  const run = state.current?.run;
  if (run?.jobId) cancelJob(run.jobId);
});
$('#compare').addEventListener('click', () => runCompare());
$('#run-clipped').addEventListener('click', () => runCompare(clipChoice()));
for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-tab]')))
  b.addEventListener('click', () => selectTab(b.dataset.tab));
$('#jobs-refresh').addEventListener('click', () => refreshJobs());
$('#jobs-status').addEventListener('change', () => refreshJobs());
$('#jobs-more').addEventListener('click', () => refreshJobs(true));
let resizeFrame = 0;
window.addEventListener('resize', () => {
  if (resizeFrame) return;
  resizeFrame = requestAnimationFrame(() => {
    resizeFrame = 0;
    for (const c of Object.values(charts)) /** @type {{ resize?: () => void }} */ (c).resize?.();
    if (state.current) renderCharts(state.current.run);
  });
});

// ---------------------------------------------------------------- test hooks (read-only views)

function runView(run, stream) {
  if (!run) return null;
  const steps = run.steps.slice();
  return Object.freeze({
    jobId: run.jobId,
    status: run.status,
    steps,
    uniqueSteps: new Set(steps).size,
    lastSeq: run.lastSeq,
    eventCount: run.eventCount,
    nonfiniteStep: run.nonfinite?.step ?? null,
    outcome: run.summary?.outcome ?? null,
    gradients: run.summary?.gradients?.verdict ?? null,
    training: run.summary?.training?.verdict ?? null,
    clipping: run.summary?.mitigation?.clipping ?? null,
    verdict: verdictText(run.summary) || null,
    hasBackward: run.hasBackward,
    stepsRun: run.summary?.stepsRun ?? null,
    // What the depth chart draws as the prediction, computed here from the spec (null when none).
    predictedLayerGradFactor: predictedBackwardProfile(run.spec)?.factor ?? null,
    stream: stream ? Object.freeze({ ...stream.stats, finished: stream.finished }) : null,
  });
}

/** Draws everything pending now, so a reader sees what the charts really hold. */
function flushCharts() {
  for (const c of Object.values(charts)) c.flush?.();
}

Object.defineProperty(window, '__gl', {
  value: Object.freeze({
    get run() {
      return runView(state.current?.run, state.current?.stream);
    },
    get compare() {
      const c = state.compare;
      return c ? Object.freeze({ a: runView(c.a.run, c.a.stream), b: runView(c.b.run, c.b.stream) }) : null;
    },
    get presets() {
      return state.presets.map((p) => p.id);
    },
    /** The sweep on the Sweeps tab: status, cells drawn, theory lines, each cell's job and position. */
    get sweep() {
      return sweeps.view();
    },
    flushSweep() {
      sweeps.flush();
    },
    /** Closes the sweep's socket as a network drop would; it reconnects with from = last seq + 1. */
    dropSweepStream() {
      sweeps.current?.stream?.drop();
    },
    flushCharts,
    /** What a chart (a key of `charts`: backward, layers, depth, grad, loss, …) holds as plotted. */
    chart(name) {
      const c = charts[name];
      if (!c?.drawn) return null;
      c.flush();
      return c.drawn();
    },
    /** Closes the current run's socket as a network drop would; the stream reconnects with from. */
    dropStream() {
      state.current?.stream?.drop();
    },
  }),
});

for (const p of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.chart .placeholder')))
  p.dataset.initial = p.textContent.trim();
// Before any run, the theory line follows the form (another gain, another depth).
$('#spec-form').addEventListener('change', () => {
  if (state.current) return;
  try {
    renderDepthPrediction(form.getSpec());
  } catch {
    // JSON being edited: keep the last prediction.
  }
});

loadPresets().then(() => refreshJobs());
sweeps.loadPresets();
