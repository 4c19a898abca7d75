// The CLI, spawned as a user runs it: bin/gradient-lab.js → src/cli.ts through tsx.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DoneEvent, JobEvent, Series, Summary } from '../../src/contract/events.js';

const bin = fileURLToPath(new URL('../../bin/gradient-lab.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gl-cli-'));

function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

function specFile(name: string, spec: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

const textbook = {
  network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } },
  training: { steps: 12, learningRate: 1e-4 },
  record: { every: 5 },
};

describe('gradient-lab run', () => {
  it('prints NDJSON events in seq order: steps, then done with the summary', async () => {
    const { code, stdout, stderr } = await cli(['run', specFile('textbook.json', textbook)]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JobEvent.parse(JSON.parse(l)));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.step : 0))).toEqual([
      1, 5, 10, 12,
    ]);
    const done = DoneEvent.parse(events.at(-1));
    expect(done.status).toBe('succeeded');
    expect(done.summary?.predictedForwardGain).toBe(57.6650390625);
  });

  it('--result prints the columnar result with its summary (spec from stdin with -)', async () => {
    const { code, stdout } = await cli(['run', '-', '--result'], JSON.stringify(textbook));
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(Series.parse(result).steps).toEqual([1, 5, 10, 12]);
    expect(Summary.parse(result.summary).stepsRun).toBe(12);
    expect(result.layers).toHaveLength(10);
  });

  it('a run that blows up exits 0, reports the non-finite value, and prints Infinity as a string', async () => {
    const spec = {
      network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1e5 } },
      data: { kind: 'explicit', inputs: [[1, 1]], targets: [[0, 0]] },
      training: { steps: 5, dtype: 'float32' },
    };
    const { code, stdout } = await cli(['run', specFile('boom.json', spec)]);
    expect(code).toBe(0);
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(['step', 'nonfinite', 'done']);
    expect(events[1]).toMatchObject({ seq: 1, step: 1, tensor: 'activation', layer: 'W8', value: 'Infinity' });
    // Past W8 the rows are ±Infinity and Infinity·0 = NaN, so the loss is NaN.
    expect(events[0].loss).toBe('NaN');
    expect(events[2].summary.outcome).toBe('nonfinite');
  });

  it('an invalid spec exits 2 with the field paths and messages', async () => {
    const { code, stdout, stderr } = await cli(['run', '-'], JSON.stringify({ network: { kind: 'mlp', depth: 0 } }));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const err = JSON.parse(stderr);
    expect(err.errors).toContainEqual({ path: 'network.depth', message: expect.any(String) });
  });

  it('an impossible spec (checkSpec) exits 2 naming the field', async () => {
    const { code, stderr } = await cli(
      ['run', '-'],
      JSON.stringify({ network: { kind: 'rnn' }, mitigations: [{ kind: 'batch-norm' }] }),
    );
    expect(code).toBe(2);
    expect(JSON.parse(stderr).errors).toEqual([{ path: 'mitigations.0', message: expect.stringContaining('mlp') }]);
  });

  it('a reader that stops early (| head) ends the run quietly with exit 0', async () => {
    const path = specFile('long.json', { network: { kind: 'mlp', depth: 3, width: 8 }, training: { steps: 50_000 } });
    const child = spawn(process.execPath, [bin, 'run', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(JSON.parse(first.split('\n')[0]).type).toBe('step');
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('bad JSON, a missing file and a bad command exit 2', async () => {
    expect((await cli(['run', '-'], '{not json')).code).toBe(2);
    expect((await cli(['run', join(dir, 'missing.json')])).code).toBe(2);
    expect((await cli(['fly'])).code).toBe(2);
  });
});
