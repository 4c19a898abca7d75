import { describe, expect, it } from 'vitest';
import { FairQueue, laneKey } from '../../src/runtime/queue.js';

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

describe('FairQueue across API keys (issue 11, defect 5)', () => {
  it('gives a key with one job a turn as soon as a key with sixteen sweeps has had one', () => {
    const q = new FairQueue<{ id: string }>();
    for (let s = 0; s < 16; s++)
      for (let c = 0; c < 64; c++) q.push(item(`alice-s${s}-c${c}`), laneKey('alice', `s${s}`));
    // One of Alice's cells is dispatched; then Bob submits one job.
    expect(q.shift()?.id).toMatch(/^alice-s\d+-c0$/);
    q.push(item('bob-1'), laneKey('bob', null));
    expect(q.shift()?.id).toBe('bob-1');
    expect(q.size).toBe(16 * 64 - 1);
  });

  it('alternates keys 1:1 whatever the number of lanes each has, and lanes in turn within a key', () => {
    const q = new FairQueue<{ id: string }>();
    for (let s = 0; s < 4; s++) for (let c = 0; c < 3; c++) q.push(item(`a${s}.${c}`), laneKey('alice', `s${s}`));
    for (let j = 0; j < 6; j++) q.push(item(`b${j}`), laneKey('bob', null));
    const order = drain(q);
    // Keys alternate while both have work: Alice's four lanes get one turn between them, not four.
    const keys = order.slice(0, 12).map((id) => id[0]);
    expect(keys).toEqual(['b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a']);
    expect(order.filter((id) => id[0] === 'b')).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    // Within Alice, her lanes take turns: every sweep's first cell before any second cell.
    const alice = order.filter((id) => id[0] === 'a');
    expect(new Set(alice.slice(0, 4).map((id) => id.split('.')[0]))).toEqual(new Set(['a0', 'a1', 'a2', 'a3']));
    expect(alice.slice(0, 4).every((id) => id.endsWith('.0'))).toBe(true);
    expect(alice.slice(4, 8).every((id) => id.endsWith('.1'))).toBe(true);
  });

  it('removes jobs from any lane and drops empty lanes and keys', () => {
    const q = new FairQueue<{ id: string }>();
    q.push(item('a'), laneKey('alice', null));
    q.push(item('b'), laneKey('bob', 'x'));
    q.push(item('c'), laneKey('bob', null));
    expect(q.remove('b')).toBe(true);
    expect(q.remove('b')).toBe(false);
    expect(q.laneSize(laneKey('bob', 'x'))).toBe(0);
    expect(drain(q).sort()).toEqual(['a', 'c']);
    expect(q.size).toBe(0);
    // A key that gets work while others have some is served next.
    q.push(item('e'), laneKey('alice', null));
    q.push(item('f'), laneKey('alice', null));
    q.push(item('d'), laneKey('carol', null));
    expect(q.peek()?.id).toBe('d');
    expect(drain(q)).toEqual(['d', 'e', 'f']);
  });
});
