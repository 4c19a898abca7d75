import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/runtime/queue.js';

const item = (id: string) => ({ id });

function drain(q: FairQueue<{ id: string }>): string[] {
  const out: string[] = [];
  for (let x = q.shift(); x; x = q.shift()) out.push(x.id);
  return out;
}

describe('FairQueue', () => {
  it('keeps submission order within a lane', () => {
    const q = new FairQueue<{ id: string }>();
    for (const id of ['a', 'b', 'c']) q.push(item(id));
    expect(q.size).toBe(3);
    expect(drain(q)).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('serves a single job submitted behind a 2,000-cell sweep next', () => {
    const q = new FairQueue<{ id: string }>();
    for (let i = 0; i < 2000; i++) q.push(item(`cell${i}`), 'sweep:s');
    q.shift();
    q.shift();
    q.push(item('single'));
    expect(q.shift()?.id).toBe('single');
    expect(q.size).toBe(1998);
  });

  it('alternates between lanes with work, round-robin', () => {
    const q = new FairQueue<{ id: string }>();
    for (let i = 0; i < 3; i++) q.push(item(`a${i}`), 'sweep:a');
    for (let i = 0; i < 3; i++) q.push(item(`b${i}`), 'sweep:b');
    q.push(item('j0'));
    q.push(item('j1'));
    const order = drain(q);
    // Between two turns of any lane, every other lane with work is served once.
    expect(order).toEqual(['j0', 'b0', 'a0', 'j1', 'b1', 'a1', 'b2', 'a2']);
  });

  it('removes a queued job from any lane and forgets emptied lanes', () => {
    const q = new FairQueue<{ id: string }>();
    q.push(item('s1'), 'sweep:x');
    q.push(item('j1'));
    q.push(item('s2'), 'sweep:x');
    expect(q.remove('j1')).toBe(true);
    expect(q.remove('j1')).toBe(false);
    expect(q.laneSize('sweep:x')).toBe(2);
    expect(q.remove('s1')).toBe(true);
    expect(q.size).toBe(1);
    expect(drain(q)).toEqual(['s2']);
    q.push(item('j2'));
    expect(drain(q)).toEqual(['j2']);
  });
  it('peeks without taking, and puts handed-back jobs at the head of their lane', () => {
    const q = new FairQueue<{ id: string }>();
    for (const id of ['a', 'b', 'c', 'd']) q.push(item(id), 'sweep:s');
    expect(q.peek()?.id).toBe('a');
    const taken = [q.shift()!, q.shift()!, q.shift()!];
    // A worker hands back b and c unstarted, last first: the lane's order is restored.
    q.unshift(taken[2], 'sweep:s');
    q.unshift(taken[1], 'sweep:s');
    expect(q.size).toBe(3);
    expect(drain(q)).toEqual(['b', 'c', 'd']);
    // Into a lane that had emptied: it exists again and is served next.
    q.push(item('j'));
    q.unshift(item('x'), 'sweep:s');
    expect(q.peek()?.id).toBe('x');
    expect(drain(q)).toEqual(['x', 'j']);
  });
});
