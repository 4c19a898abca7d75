/**
 * The seq mapping and fan-out of JobLog, driven by hand: records arrive in batches while
 * subscribers replay, close or throw; every subscriber must see seq 0, 1, 2, … exactly once.
 */
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/contract/events.js';
import { JobLog } from '../../src/runtime/event-log.js';
import { rowWidth } from '../../src/runtime/protocol.js';
import { Telemetry } from '../../src/runtime/telemetry.js';
import { chunkOfRows, deferred } from './helpers.js';

const shape = { layerNames: ['W1'], layerCount: 1, hiddenLength: 0 };

function rows(from: number, n: number): Float64Array {
  const w = rowWidth(shape);
  const out = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    out[i * w] = from + i + 1;
    for (let k = 1; k < w; k++) out[i * w + k] = from + i + k / 10;
  }
  return out;
}

const nonFiniteInfo = { step: 0, where: 'loss', tensor: 'loss' as const, layer: null, value: 'NaN' as const };

function subscribeAll(log: JobLog, from = 0) {
  const events: JobEvent[] = [];
  const ended = deferred<JobEvent[]>();
  const sub = log.subscribe({ from, onEvent: (e) => events.push(e), onEnd: () => ended.resolve(events) });
  return { events, ended: ended.promise, sub };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('JobLog', () => {
  it('maps seqs around the non-finite mark and ends with done', () => {
    const log = new JobLog(new Telemetry(shape));
    log.telemetry.appendColumns(chunkOfRows(shape, rows(0, 5), 5));
    log.nonFinite = { info: { ...nonFiniteInfo, step: 3 }, afterRecord: 2 };
    log.done = { type: 'done', seq: 6, status: 'succeeded', summary: null };
    const got = Array.from({ length: log.available() }, (_, s) => log.eventAt(s));
    expect(got.map((e) => [e.seq, e.type, 'step' in e ? e.step : null])).toEqual([
      [0, 'step', 1],
      [1, 'step', 2],
      [2, 'step', 3],
      [3, 'nonfinite', 3],
      [4, 'step', 4],
      [5, 'step', 5],
      [6, 'done', null],
    ]);
    expect(() => log.eventAt(7)).toThrow(RangeError);
  });

  it('delivers each event once, in order, across long replays, live batches and late joins', async () => {
    const log = new JobLog(new Telemetry(shape));
    log.telemetry.appendColumns(chunkOfRows(shape, rows(0, 1000), 1000));
    const early = subscribeAll(log);
    const resumed = subscribeAll(log, 700);
    const closer: JobEvent[] = [];
    const closing = log.subscribe({
      from: 0,
      onEvent(e) {
        closer.push(e);
        if (e.seq === 300) closing.close();
      },
    });
    const thrower = log.subscribe({
      from: 0,
      onEvent(e) {
        if (e.seq === 10) throw new Error('a broken client');
      },
    });
    await tick();
    // The first turn delivers one chunk, not the whole history.
    expect(early.events.length).toBe(256);
    for (let b = 0; b < 10; b++) {
      log.telemetry.appendColumns(chunkOfRows(shape, rows(1000 + 100 * b, 100), 100));
      log.notify();
      await tick();
    }
    const late = subscribeAll(log, 1500);
    log.done = { type: 'done', seq: 2000, status: 'succeeded', summary: null };
    log.notify();
    const all = await early.ended;
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 2001 }, (_, i) => i));
    expect((await resumed.ended).map((e) => e.seq)).toEqual(Array.from({ length: 1301 }, (_, i) => i + 700));
    expect(await late.ended).toEqual(all.slice(1500));
    // Closing from inside onEvent stops delivery at once.
    expect(closer.map((e) => e.seq)).toEqual(Array.from({ length: 301 }, (_, i) => i));
    thrower.close();
    expect(log.subscriberCount).toBe(0);
  });
});
