import { describe, expect, it } from 'vitest';
import { isJobId, newId } from '../../src/runtime/ids.js';

describe('job ids', () => {
  it('sort in creation order, even within one millisecond, and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every(isJobId)).toBe(true);
  });

  it('order by time across a clock that does not move back, and carry 80 random bits', () => {
    const a = newId(Date.parse('2030-01-01T00:00:00Z'));
    const b = newId(Date.parse('2030-01-01T00:00:00.001Z'));
    expect(a < b).toBe(true);
    // Two ids from the same instant differ in their random tail, not only in the counter.
    const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(13)));
    expect(tails.size).toBe(1000);
    expect(isJobId('../../etc/passwd')).toBe(false);
  });
});
