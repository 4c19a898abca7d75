/**
 * The Python examples against a real listening server, as a notebook user would run them:
 * examples/python/quickstart.py (the gradient_lab package, standard library only) and
 * examples/python/stream.py (follows a job over the WebSocket with `websockets`, cut and resumed
 * with `from`). Both run with Debian's /usr/bin/python3; stream.py skips, saying why, without
 * python3-websockets (.ci/run installs it).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type ServerProcess, startServer } from './process.js';

const python = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0,
);
if (!python) console.warn('python-example.test.ts skipped: no python3 on this machine');
const noWebsockets =
  python && spawnSync(python, ['-c', 'import websockets'], { stdio: 'ignore' }).status !== 0
    ? `examples/python/stream.py skipped: ${python} cannot import websockets (apt-get install python3-websockets)`
    : null;
if (noWebsockets) console.warn(noWebsockets);

const quickstart = join(ROOT, 'examples/python/quickstart.py');
const stream = join(ROOT, 'examples/python/stream.py');

describe.skipIf(!python)('examples/python', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    // With API keys, so that the examples' key handling is exercised too.
    server = await startServer({ DATA_DIR: ':memory:', API_KEYS: 'py-key' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });
  const env = (key: string) => ({ ...process.env, GRADIENT_LAB_URL: '', GRADIENT_LAB_API_KEY: key });

  it('quickstart.py: streams the textbook preset, tabulates its result, runs the clipped variant and the textbook sweep, exits 0', () => {
    const run = spawnSync(python!, [quickstart, server.url], { encoding: 'utf8', timeout: 90_000, env: env('py-key') });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const stepLines = run.stdout.split('\n').filter((l) => /^step\s+\d+\s+loss/.test(l));
    const total = /^(\d+) rows x (\d+) columns/m.exec(run.stdout);
    expect(total).not.toBeNull();
    // The script itself checks that the stream and the result agree; here: something was streamed and tabulated.
    expect(stepLines.length).toBeGreaterThan(0);
    expect(Number(total![1])).toBe(stepLines.length);
    expect(run.stdout).toMatch(/^done: gradients exploding \(backward gain 38\.4434, .*\), training \w+$/m);
    // Issue 14: a clipped textbook run reads "gradients exploding, clipped on N % of steps, training converged".
    expect(run.stdout).toMatch(
      /^textbook-exploding-clip-norm: \d+ steps: gradients exploding \(.*\), clipped on \d+% of steps \(by up to [\d.e+]+x\), training converged$/m,
    );
    // The sweep part: every cell streamed, then the grid, one table per mitigation.
    const cellLines = run.stdout.split('\n').filter((l) => /^cell\s+\d+\s/.test(l));
    const swept = /^sweep succeeded: (\d+) cells$/m.exec(run.stdout);
    const fromGrid = /^(\d+) cells from \/v1\/sweeps\//m.exec(run.stdout);
    expect(swept).not.toBeNull();
    expect(cellLines.length).toBe(Number(swept![1]));
    expect(Number(fromGrid![1])).toBe(cellLines.length);
    expect(run.stdout.match(/^outcome by depth \(rows\) and gain \(columns\)/gm)).toHaveLength(2);
  });

  it("quickstart.py: exits 1 with the server's problem+json when the key is missing", () => {
    const run = spawnSync(python!, [quickstart, server.url], { encoding: 'utf8', timeout: 30_000, env: env('') });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: GET \/v1\/presets: 401 GL_ERR_UNAUTHORIZED: A valid API key is required/);
  });

  it('quickstart.py: exits 1 with the reason when the server cannot be reached', () => {
    const run = spawnSync(python!, [quickstart, 'http://127.0.0.1:9'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it.skipIf(noWebsockets !== null)(
    'stream.py: follows a job over the WebSocket, cut after 100 events per connection, resumed with from: every seq once',
    () => {
      const run = spawnSync(python!, [stream, server.url, '--drop-after', '100'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: env('py-key'),
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const seqs = run.stdout
        .split('\n')
        .map((l) => /^seq\s+(\d+)\s/.exec(l))
        .filter((m) => m !== null)
        .map((m) => Number(m[1]));
      expect(seqs.length).toBeGreaterThan(100);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // printed in order, each once, no gap
      const resumes = [...run.stdout.matchAll(/^disconnected \(.*\); resuming with from=(\d+)$/gm)].map((m) =>
        Number(m[1]),
      );
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      for (const from of resumes) expect(from).toBeGreaterThanOrEqual(100);
      expect(run.stdout).toMatch(/^seq\s+\d+\s+done: succeeded, gradients exploding, training converged$/m);
      expect(run.stdout).toContain(`${seqs.length} events, seq 0..${seqs.length - 1}, each exactly once`);
    },
  );
});
