import { describe, expect, it } from 'vitest';
import { decideEnd, type RunOutcome } from '../../src/runtime/finalization.js';
import { canMove, IllegalTransition, type LiveJob, type LiveState, moveTo } from '../../src/runtime/lifecycle.js';

const STATES: LiveState[] = ['queued', 'assigned', 'running', 'finishing', 'ended', 'parked'];

describe('job lifecycle', () => {
  it('allows exactly the documented transitions and refuses the rest', () => {
    const allowed = STATES.flatMap((from) => STATES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
    expect(allowed.sort()).toEqual(
      [
        'queued→assigned',
        'queued→finishing',
        'assigned→running',
        'assigned→queued',
        'assigned→finishing',
        'assigned→parked',
        'running→finishing',
        'finishing→ended',
        'finishing→parked',
      ].sort(),
    );
    const live = { id: 'j', state: 'running' } as LiveJob;
    expect(() => moveTo(live, 'queued')).toThrow(IllegalTransition);
    moveTo(live, 'finishing');
    expect(live.state).toBe('finishing');
  });

  it('turns a run’s outcome and stop reason into its end', () => {
    const summary = { stepsRun: 3 } as never;
    const completed: RunOutcome = { ok: true, result: { status: 'completed', summary } };
    const stopped: RunOutcome = { ok: true, result: { status: 'stopped', summary } };
    const failed: RunOutcome = { ok: false, error: new Error('boom') };
    expect(decideEnd(completed, null)).toEqual({ kind: 'end', status: 'succeeded', summary, error: null });
    // A run that completed before it saw the stop flag stands, whatever the reason.
    expect(decideEnd(completed, 'requeue')).toMatchObject({ kind: 'end', status: 'succeeded' });
    expect(decideEnd(completed, 'cancel')).toMatchObject({ kind: 'end', status: 'succeeded' });
    expect(decideEnd(stopped, 'cancel')).toEqual({ kind: 'end', status: 'cancelled', summary, error: null });
    expect(decideEnd(stopped, 'requeue')).toEqual({ kind: 'hand-back' });
    expect(decideEnd(failed, 'requeue')).toEqual({ kind: 'hand-back' });
    expect(decideEnd(failed, 'cancel')).toEqual({ kind: 'end', status: 'cancelled', summary: null, error: null });
    expect(decideEnd(failed, null)).toEqual({ kind: 'end', status: 'failed', summary: null, error: 'boom' });
  });
});
