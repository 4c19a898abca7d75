import { describe, expect, it } from 'vitest';
import { JobLog } from '../../src/runtime/event-log.js';
import { EndedLogCache } from '../../src/runtime/log-cache.js';
import { Telemetry } from '../../src/runtime/telemetry.js';

/** A log whose telemetry holds `records` records of 5 columns and the step: 4 + 5 × 8 = 44 bytes a record. */
function log(records: number): JobLog {
  const telemetry = new Telemetry({ layerNames: [], layerCount: 0, hiddenLength: 0 }, records);
  telemetry.appendColumns({
    n: records,
    steps: new Int32Array(records),
    values: new Float64Array(records * 5),
    hidden: new Float64Array(0),
  });
  return new JobLog(telemetry);
}

describe('EndedLogCache', () => {
  it('keeps logs within its byte budget, dropping the least recently used', () => {
    const cache = new EndedLogCache(44 * 250);
    const a = log(100);
    const b = log(100);
    cache.put('a', a);
    cache.put('b', b);
    expect(cache.bytes).toBe(44 * 200);
    expect(cache.get('a')).toBe(a);
    cache.put('c', log(100));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(a);
    expect(cache.bytes).toBe(44 * 200);
    cache.put('huge', log(1000));
    expect(cache.get('huge')).toBeUndefined();
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(44 * 100);
  });
});
