// The run's verdicts as one line: what the gradients did, how much the mitigations acted, what
// training achieved ("gradients exploding · clipped on 37 % of steps · training converged").
// The summary's `gradients`, `training` and `mitigation` are the API's (docs/engine.md); a server
// without them has only the deprecated single `outcome`, shown as such.

import { decodeNum } from './num.js';

/** "37 %", "0.4 %", "100 %": whole percent from 10 % up, one decimal below. */
export function percent(fraction) {
  const p = decodeNum(fraction) * 100;
  if (!Number.isFinite(p)) return '—';
  if (p === 0 || p >= 10) return `${Math.round(p)} %`;
  return `${Number(p.toFixed(1))} %`;
}

/**
 * The parts of the verdict line, each `{key, text, verdict?}`; empty without a summary.
 * `verdict` is the label a part colours by.
 */
export function verdictParts(summary) {
  if (!summary) return [];
  const parts = [];
  const g = summary.gradients?.verdict;
  const t = summary.training?.verdict;
  if (!g && !t) {
    if (summary.outcome) parts.push({ key: 'outcome', text: `outcome ${summary.outcome}`, verdict: summary.outcome });
    return parts;
  }
  if (g) parts.push({ key: 'gradients', text: `gradients ${g}`, verdict: g });
  const clip = summary.mitigation?.clipping;
  if (clip) {
    const n = Number(clip.stepsClipped ?? 0);
    parts.push({
      key: 'clipping',
      text: n > 0 ? `clipped on ${percent(clip.fraction)} of steps` : 'clipping never acted',
    });
  }
  if (t) parts.push({ key: 'training', text: `training ${t === 'nonfinite' ? 'non-finite' : t}`, verdict: t });
  return parts;
}

/** The verdict line as plain text (job list, hover read-outs). */
export function verdictText(summary) {
  return verdictParts(summary)
    .map((p) => p.text)
    .join(' · ');
}

/** Fills `el` with the verdict line, each part a span carrying data-part and data-verdict. */
export function renderVerdict(el, summary) {
  const parts = verdictParts(summary);
  el.replaceChildren();
  parts.forEach((p, i) => {
    if (i > 0) {
      const sep = document.createElement('span');
      sep.className = 'sep';
      sep.textContent = '·';
      el.append(sep);
    }
    const span = document.createElement('span');
    span.className = 'v';
    span.dataset.part = p.key;
    if (p.verdict) span.dataset.verdict = p.verdict;
    span.textContent = p.text;
    el.append(span);
  });
  const g = summary?.gradients?.verdict;
  const t = summary?.training?.verdict;
  el.dataset.gradients = g ?? '';
  el.dataset.training = t ?? '';
  const clip = summary?.mitigation?.clipping;
  el.dataset.clippedFraction = clip ? String(decodeNum(clip.fraction)) : '';
  return parts.length;
}
