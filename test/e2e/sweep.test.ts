/**
 * The dashboard's Sweeps tab in a real Chromium against the real app on a real port: a 3×3 textbook
 * sweep (gain × depth, W = gain·I) streams its cells into the heat map until every cell is drawn,
 * the gain = 1 theory line is drawn, the page's grid matches what the server stored, clicking a cell
 * opens that cell's job in the Run view with all its steps plotted, and a running sweep cancels.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, haveChromium, SHOTS, startHarness, TIMEOUT, warnIfNoChromium } from './harness.js';

warnIfNoChromium('sweep view tests');

interface SweepCellView {
  index: number;
  jobId: string | null;
  status: string | null;
  outcome: string | null;
  coords: unknown[] | null;
  x: number;
  y: number;
}

interface SweepView {
  id: string;
  status: string;
  shape: number[];
  ended: number;
  cellsDrawn: number;
  total: number;
  theoryLines: number;
  events: number;
  stream: { reconnects: number; duplicates: number; gaps: number; finished: boolean; transport: string | null } | null;
  cells: SweepCellView[];
}

interface RunView {
  jobId: string | null;
  status: string;
  steps: number[];
}

interface G {
  __gl: { sweep: SweepView | null; run: RunView | null };
}

interface ServerSweep {
  id: string;
  status: string;
  shape: number[];
  theory: { path: string; value: number; label: string }[];
  cells: { index: number; jobId: string | null; status: string; outcome: string | null; coords: unknown[] }[];
}

interface SweepRequest {
  name?: string;
  base: { training: { steps: number } } & Record<string, unknown>;
  axes: { path: string; values: unknown[] }[];
}

describe.skipIf(!haveChromium)('sweep view in Chromium', () => {
  let harness: Harness;
  let base: string;
  let page: Page;
  let textbook: SweepRequest;
  let consoleErrors: string[];

  async function apiJson<T>(url: string): Promise<T> {
    const res = await fetch(`${base}${url}`);
    expect(res.ok, `${url} → ${res.status}`).toBe(true);
    return (await res.json()) as T;
  }

  const sweepView = () => page.evaluate('window.__gl.sweep') as Promise<SweepView | null>;
  // Predicates are functions, not strings: the page's CSP forbids eval, which string predicates need.
  const waitFor = <A>(predicate: (arg: A) => boolean, arg: A) =>
    page.waitForFunction(predicate as never, arg, { timeout: TIMEOUT, polling: 'raf' });

  async function submitSweep(request: unknown): Promise<string> {
    const previous = (await sweepView())?.id ?? null;
    await page.evaluate(`document.querySelector('#sweep-json-details').setAttribute('open', '')`);
    await page.fill('#sweep-json', JSON.stringify(request, null, 2));
    await page.click('#sweep-run');
    await waitFor((prev) => {
      const s = (globalThis as unknown as G).__gl.sweep;
      return s !== null && s.id !== prev;
    }, previous);
    return (await sweepView())!.id;
  }

  beforeAll(async () => {
    harness = await startHarness();
    ({ base, page, consoleErrors } = harness);
    const presets = await apiJson<{ items: { id: string; request: SweepRequest }[] }>('/v1/sweeps/presets');
    textbook = presets.items.find((p) => p.id === 'sweep-textbook')!.request;
    await page.goto(base);
    await page.locator('#sweep-preset option[value="sweep-textbook"]').waitFor({ state: 'attached', timeout: TIMEOUT });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('fills a 3×3 textbook sweep live, draws the gain = 1 line, and opens a cell’s run on click', async () => {
    await page.click('[data-tab="sweeps"]');
    await page.selectOption('#sweep-preset', 'sweep-textbook');
    // The preset's own JSON lands in the editor: it is what "Run sweep" would send as is.
    expect(JSON.parse(await page.inputValue('#sweep-json'))).toEqual(textbook);

    // Reduced to 3×3 and 20 steps so it ends in a few seconds; the gain axis still straddles 1.
    const small = {
      ...textbook,
      name: 'e2e textbook 3×3',
      base: { ...textbook.base, training: { ...textbook.base.training, steps: 20 } },
      axes: [
        { path: 'network.init.gain', values: [0.5, 1, 1.5] },
        { path: 'network.depth', values: [2, 5, 30] },
      ],
    };
    const id = await submitSweep(small);
    await waitFor(() => (globalThis as unknown as G).__gl.sweep?.status === 'succeeded', null);
    await page.evaluate('window.__gl.flushSweep()');
    const view = (await sweepView())!;

    const rows = 3;
    const cols = 3;
    expect(view.shape).toEqual([cols, rows]);
    expect(view.total).toBe(rows * cols);
    expect(view.cellsDrawn).toBe(rows * cols);
    expect(Number(await page.getAttribute('#sweep-map', 'data-cells'))).toBe(rows * cols);
    // Every cell event exactly once, then done: 9 cells + 1.
    expect(view.events).toBe(rows * cols + 1);
    expect(view.stream).toMatchObject({ duplicates: 0, gaps: 0, finished: true, transport: 'websocket' });

    // The page's grid is the server's grid.
    const server = await apiJson<ServerSweep>(`/v1/sweeps/${id}`);
    expect(server.status).toBe('succeeded');
    const byIndex = new Map(server.cells.map((c) => [c.index, c]));
    expect(view.cells).toHaveLength(rows * cols);
    for (const cell of view.cells) {
      const s = byIndex.get(cell.index)!;
      expect(cell.jobId).toBe(s.jobId);
      expect(cell.outcome).toBe(s.outcome);
      expect(cell.coords).toEqual(s.coords);
    }
    // The theory puts the boundary at gain = 1 on the horizontal axis, and the page drew it.
    expect(server.theory.some((t) => t.path === 'network.init.gain' && t.value === 1)).toBe(true);
    expect(view.theoryLines).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#sweep-theory')).toContain('gain = 1');
    // Finding of the preset, as the grid shows it: gain 1.5 at depth 30 blows up, gain 0.5 does not.
    const at = (gain: number, depth: number) =>
      server.cells.find((c) => c.coords[0] === gain && c.coords[1] === depth)!;
    expect(['exploding', 'nonfinite', 'diverged']).toContain(at(1.5, 30).outcome);
    expect(['exploding', 'nonfinite', 'diverged']).not.toContain(at(0.5, 30).outcome);

    // Another metric on a log colour scale still draws every cell; with the axes swapped the gain = 1
    // line is drawn across instead of down.
    await page.selectOption('#sweep-metric', 'backwardGain');
    await page.selectOption('#sweep-x', '1');
    await page.evaluate('window.__gl.flushSweep()');
    expect(await page.inputValue('#sweep-y')).toBe('0');
    expect(Number(await page.getAttribute('#sweep-map', 'data-cells'))).toBe(rows * cols);
    expect(Number(await page.getAttribute('#sweep-map', 'data-theory-lines'))).toBe(1);
    expect(await page.textContent('#sweep-legend')).toContain('log10');
    expect(await page.textContent('#sweep-theory')).toContain('horizontal');
    await page.selectOption('#sweep-x', '0');
    await page.selectOption('#sweep-metric', 'outcome');
    await page.evaluate('window.__gl.flushSweep()');
    const back = (await sweepView())!;
    expect(back.theoryLines).toBe(1);

    // Hovering shows the cell's numbers, clicking opens its run.
    const target = view.cells.find((c) => c.coords?.[0] === 1.5 && c.coords?.[1] === 5)!;
    await page.hover('#sweep-canvas', { position: { x: target.x, y: target.y } });
    expect(await page.textContent('#sweep-hover')).toContain(target.jobId!);
    await page.screenshot({ path: path.join(SHOTS, 'sweep.png'), fullPage: true });

    await page.click('#sweep-canvas', { position: { x: target.x, y: target.y } });
    await waitFor((jobId) => {
      const run = (globalThis as unknown as G).__gl.run;
      return run !== null && run.jobId === jobId && run.steps.length > 0;
    }, target.jobId);
    await page.evaluate('window.__gl.flushCharts()');
    const run = (await page.evaluate('window.__gl.run')) as RunView;
    const result = await apiJson<{ series: { steps: number[] } }>(`/v1/jobs/${target.jobId}/result`);
    expect(run.steps).toEqual(result.series.steps);
    expect(Number(await page.getAttribute('#chart-grad', 'data-points'))).toBe(result.series.steps.length);
    expect(await page.isVisible('#tab-run')).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it('resumes a dropped sweep stream from the next seq: every cell event exactly once', async () => {
    await page.click('[data-tab="sweeps"]');
    // Long enough per cell that the sweep is still running when the socket drops.
    const request = {
      ...textbook,
      name: 'e2e drop',
      base: {
        ...textbook.base,
        network: { kind: 'linear', depth: 10, width: 16, init: { scheme: 'scaled-identity', gain: 1 } },
        data: { kind: 'synthetic', samples: 64, featureScales: Array(16).fill(1) },
        training: { ...textbook.base.training, steps: 20_000 },
      },
      axes: [
        { path: 'network.init.gain', values: [0.9, 1] },
        { path: 'network.depth', values: [5, 10] },
      ],
    };
    const id = await submitSweep(request);
    // Dropped after the first cell and before the last: the rest must come after a reconnect.
    await waitFor(() => ((globalThis as unknown as G).__gl.sweep?.events ?? 0) >= 1, null);
    expect((await sweepView())!.stream!.finished).toBe(false);
    await page.evaluate('window.__gl.dropSweepStream()');
    await waitFor(() => (globalThis as unknown as G).__gl.sweep?.status === 'succeeded', null);
    await page.evaluate('window.__gl.flushSweep()');
    const view = (await sweepView())!;
    expect(view.stream!.reconnects).toBeGreaterThanOrEqual(1);
    expect(view.stream).toMatchObject({ duplicates: 0, gaps: 0, finished: true });
    expect(view.events).toBe(4 + 1);
    expect(view.cellsDrawn).toBe(4);
    const server = await apiJson<ServerSweep>(`/v1/sweeps/${id}`);
    expect(view.cells.map((c) => c.jobId).sort()).toEqual(server.cells.map((c) => c.jobId).sort());
  });

  it('cancels a running sweep from the page and lists it as cancelled', async () => {
    await page.click('[data-tab="sweeps"]');
    // The full textbook grid (84 cells) at 20,000 steps a cell takes many seconds: still running when
    // Cancel is pressed (at its own 200 steps it can end within a second, before the click).
    const id = await submitSweep({
      ...textbook,
      base: { ...textbook.base, training: { ...textbook.base.training, steps: 20_000 } },
    });
    expect((await sweepView())!.status).toBe('running');
    // Three axes: gain × depth on the map, the mitigations axis as a slice selector.
    expect(await page.isVisible('#sweep-slice-field')).toBe(true);
    expect(await page.$$eval('#sweep-slice option', (els) => els.map((e) => e.textContent))).toEqual([
      'none',
      'clip-norm 1',
    ]);
    await page.click('#sweep-cancel', { timeout: 5000 });
    await waitFor(() => (globalThis as unknown as G).__gl.sweep?.status === 'cancelled', null);
    const server = await apiJson<ServerSweep>(`/v1/sweeps/${id}`);
    expect(server.status).toBe('cancelled');
    await page.click('#sweeps-refresh');
    await page
      .locator(`#sweeps-body tr[data-sweep="${id}"] .badge[data-status="cancelled"]`)
      .waitFor({ timeout: TIMEOUT });
    expect(consoleErrors).toEqual([]);
  });

  it('shows the server’s error for a sweep it refuses', async () => {
    await page.evaluate(`document.querySelector('#sweep-json-details').setAttribute('open', '')`);
    await page.fill('#sweep-json', JSON.stringify({ ...textbook, axes: [{ path: 'network.nope', values: [1] }] }));
    await page.click('#sweep-run');
    await page.locator('#sweep-error').filter({ hasText: '422' }).waitFor({ timeout: TIMEOUT });
    expect(await page.textContent('#sweep-error')).toContain('network.nope');
  });
});
