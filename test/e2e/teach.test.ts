/**
 * The first five minutes, in a real Chromium against the real app: the first screen opens on the
 * textbook preset with the theory already drawn and every other chart saying what will appear in
 * it; a run shows the two verdicts and the backward signal fanning out across the layers (checked
 * on the data the page plotted, against the server's own series and the closed form 1.5 per
 * layer); one click runs the same spec with clipping beside it and shows what clipping did.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, haveChromium, SHOTS, startHarness, TIMEOUT, warnIfNoChromium } from './harness.js';

warnIfNoChromium('first-run tests');

const ENDED = ['succeeded', 'failed', 'cancelled'];

interface RunView {
  jobId: string | null;
  status: string;
  steps: number[];
  gradients: string | null;
  training: string | null;
  clipping: { stepsClipped: number; fraction: number; maxFactor: number } | null;
  verdict: string | null;
  hasBackward: boolean;
}
interface Drawn {
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}
interface G {
  __gl: { run: RunView | null; compare: { a: RunView; b: RunView } | null; presets: string[] };
}
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface Summary {
  stepsRun: number;
  gradients: { verdict: string; backwardGain: Num | null; normGrowth: Num | null };
  training: { verdict: string; lossRatio: Num | null };
  mitigation: { clipping: { stepsClipped: number; fraction: number; maxFactor: Num } | null };
}
interface Result {
  job: { id: string; summary: Summary };
  series: { steps: number[]; layers: { name: string; gradNorm: Num[]; backwardNorm?: Num[] }[] };
}

/** The verdict line as the page must write it, from the server's summary. */
function expectedVerdict(s: Summary): string {
  const parts = [`gradients ${s.gradients.verdict}`];
  const clip = s.mitigation.clipping;
  if (clip) {
    const p = clip.fraction * 100;
    const pct = p === 0 || p >= 10 ? `${Math.round(p)} %` : `${Number(p.toFixed(1))} %`;
    parts.push(clip.stepsClipped > 0 ? `clipped on ${pct} of steps` : 'clipping never acted');
  }
  parts.push(`training ${s.training.verdict === 'nonfinite' ? 'non-finite' : s.training.verdict}`);
  return parts.join(' · ');
}

describe.skipIf(!haveChromium)('the first run, in Chromium', () => {
  let harness: Harness;
  let page: Page;
  let base: string;

  const api = async <T>(url: string): Promise<T> => {
    const res = await fetch(`${base}${url}`);
    expect(res.ok, `${url} → ${res.status}`).toBe(true);
    return (await res.json()) as T;
  };
  const chart = (name: string) => page.evaluate(`window.__gl.chart(${JSON.stringify(name)})`) as Promise<Drawn>;
  const waitFor = <A>(predicate: (arg: A) => boolean, arg: A) =>
    page.waitForFunction(predicate as never, arg, { timeout: TIMEOUT, polling: 'raf' });

  beforeAll(async () => {
    harness = await startHarness();
    ({ page, base } = harness);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('opens on the textbook preset: the theory drawn, every chart saying what will appear, both run buttons on screen', async () => {
    await page.goto(base);
    await waitFor(() => (globalThis as unknown as G).__gl.presets.length > 0, null);
    expect(await page.inputValue('#preset')).toBe('textbook-exploding');
    // Both buttons on the first screen (the viewport is 1440 × 1000), no scrolling.
    for (const sel of ['#run', '#run-clipped']) {
      const box = await page.locator(sel).boundingBox();
      expect(box, sel).not.toBeNull();
      expect(box!.y + box!.height).toBeLessThan(1000);
    }
    expect(await page.getAttribute('#verdict', 'data-state')).toBe('idle');
    expect(await page.textContent('#verdict')).toMatch(/gradients.*training/s);

    // Every chart of the Run tab but the depth chart is empty and says what it will show.
    for (const id of ['chart-backward', 'chart-layers', 'chart-grad', 'chart-loss', 'chart-heat']) {
      expect(await page.getAttribute(`#${id}`, 'data-empty'), id).toBe('true');
      const note = page.locator(`#${id} .placeholder`);
      expect(await note.isVisible(), id).toBe(true);
      expect((await note.textContent())!.trim().length, id).toBeGreaterThan(40);
    }
    // The depth chart already shows the theory for W = 1.5·I, L = 10: 1.5^(10−l), relative to layer 10.
    const depth = await chart('depth');
    expect(depth.x).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(depth.series[0]!.values).toEqual(depth.x.map((l) => 1.5 ** (10 - l)));
    expect(await page.textContent('#depth-note')).toContain('Press Run');

    // The other tabs' charts say what they will show, too.
    await page.click('[data-tab="compare"]');
    for (const id of ['chart-cmp-grad', 'chart-cmp-loss']) {
      expect(await page.locator(`#${id} .placeholder`).isVisible(), id).toBe(true);
    }
    await page.click('[data-tab="sweeps"]');
    expect(await page.locator('#sweep-map .placeholder').isVisible()).toBe(true);
    await page.click('[data-tab="run"]');
    expect(harness.consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'first-screen.png') });
  });

  it('a run of the textbook preset: the two verdicts, and the backward signal fanning out 1.5× per layer', async () => {
    await page.click('#run');
    await waitFor((ended) => {
      const run = (globalThis as unknown as G).__gl.run;
      return run !== null && ended.includes(run.status);
    }, ENDED);
    await page.evaluate('window.__gl.flushCharts()');
    const run = (await page.evaluate('window.__gl.run')) as RunView;
    const result = await api<Result>(`/v1/jobs/${run.jobId}/result`);
    const { summary } = result.job;

    // The verdicts on the page are the server's, in one line.
    expect(run.gradients).toBe(summary.gradients.verdict);
    expect(run.training).toBe(summary.training.verdict);
    expect(summary.gradients.verdict).toBe('exploding');
    expect(await page.getAttribute('#verdict', 'data-gradients')).toBe('exploding');
    expect(await page.getAttribute('#verdict', 'data-training')).toBe(summary.training.verdict);
    expect((await page.textContent('#verdict'))!.replace(/\s*·\s*/g, ' · ').trim()).toBe(expectedVerdict(summary));

    // The backward-signal chart holds the server's ‖∂L/∂z_l‖, one distinct line per layer.
    const backward = await chart('backward');
    const layers = result.series.layers;
    expect(backward.x).toEqual(result.series.steps);
    expect(backward.series.map((s) => s.label)).toEqual(layers.map((l) => l.name));
    expect(run.hasBackward).toBe(true);
    for (let l = 0; l < layers.length; l++) {
      const server = layers[l]!.backwardNorm!.map((v) => (typeof v === 'number' && v > 0 ? v : null));
      expect(backward.series[l]!.values).toEqual(server);
    }
    // At step 1, for W = 1.5·I, each layer's signal is 1.5 times the next one's (closed form
    // ‖∂L/∂z_l‖ = 1.5^(L−l)·‖∂L/∂z_L‖), while the weight gradients are all equal.
    const atStep1 = backward.series.map((s) => s.values[0]!);
    for (let l = 0; l + 1 < atStep1.length; l++) expect(atStep1[l]! / atStep1[l + 1]!).toBeCloseTo(1.5, 9);
    const weights = await chart('layers');
    const w1 = weights.series.map((s) => s.values[0]!);
    for (const w of w1) expect(w / w1[0]!).toBeCloseTo(1, 9);
    // The fan is there at the last recorded step too (the lines stay apart, W1 on top).
    const last = backward.x.length - 1;
    const atLast = backward.series.map((s) => s.values[last]);
    if (atLast.every((v) => v !== null)) expect(atLast[0]! / atLast.at(-1)!).toBeGreaterThan(10);

    // The depth chart: the measured signal at step 1 and the theory scaled to layer L agree.
    const depth = await chart('depth');
    const measured = depth.series.find((s) => s.label === '‖∂L/∂z_l‖ step 1')!.values;
    const theory = depth.series.find((s) => s.label.startsWith('theory'))!.values;
    expect(measured).toEqual(atStep1);
    for (let l = 0; l < theory.length; l++) expect(theory[l]! / measured[l]!).toBeCloseTo(1, 9);
    expect(harness.consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'first-run.png') });
  });

  it('one click runs it with and without clipping: "clipped on N % of steps", and what training did', async () => {
    await page.click('#run-clipped');
    await waitFor((ended) => {
      const c = (globalThis as unknown as G).__gl.compare;
      return c !== null && ended.includes(c.a.status) && ended.includes(c.b.status);
    }, ENDED);
    const cmp = (await page.evaluate('window.__gl.compare')) as { a: RunView; b: RunView };
    const a = await api<{ spec: { seed: number; mitigations: { kind: string }[] }; summary: Summary }>(
      `/v1/jobs/${cmp.a.jobId}`,
    );
    const b = await api<{ spec: { seed: number; mitigations: { kind: string }[] }; summary: Summary }>(
      `/v1/jobs/${cmp.b.jobId}`,
    );
    expect(b.spec.seed).toBe(a.spec.seed);
    expect(a.spec.mitigations.map((m) => m.kind)).not.toContain('clip-norm');
    expect(b.spec.mitigations.map((m) => m.kind)).toContain('clip-norm');
    expect(await page.isVisible('#tab-compare')).toBe(true);

    // The clipped run: the gradients still explode, clipping acted on a share of the steps, and
    // training reaches what the server says (for the textbook preset's clipped variant: converged).
    const clip = b.summary.mitigation.clipping!;
    expect(clip.stepsClipped).toBeGreaterThan(0);
    expect(clip.fraction).toBeCloseTo(clip.stepsClipped / b.summary.stepsRun, 12);
    expect(b.summary.gradients.verdict).toBe('exploding');
    expect(b.summary.training.verdict).toBe('converged');
    const textB = (await page.textContent('#compare-b .verdict'))!.replace(/\s*·\s*/g, ' · ').trim();
    expect(textB).toBe(expectedVerdict(b.summary));
    expect(textB).toMatch(/^gradients exploding · clipped on \d+(\.\d)? % of steps · training converged$/);
    expect(cmp.b.clipping?.stepsClipped).toBe(clip.stepsClipped);
    // The unclipped run, beside it: no clipping part, its own training verdict.
    const textA = (await page.textContent('#compare-a .verdict'))!.replace(/\s*·\s*/g, ' · ').trim();
    expect(textA).toBe(expectedVerdict(a.summary));
    expect(textA).not.toContain('clipped');

    // The job list says the same.
    await page.click('[data-tab="jobs"]');
    const row = page.locator(`tr[data-job="${cmp.b.jobId}"]`);
    await row.waitFor({ timeout: TIMEOUT });
    expect(await row.locator('td').nth(2).textContent()).toBe(expectedVerdict(b.summary));
    await page.click('[data-tab="compare"]');
    expect(harness.consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'clipped-comparison.png') });
  });
});
