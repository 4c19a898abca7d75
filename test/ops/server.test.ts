/**
 * The server entry as an operator meets it: a bad environment stops it at once with the variable
 * named; it logs where it listens; SIGINT (Ctrl-C) shuts it down as SIGTERM does.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, ROOT, startServer } from './process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('src/server.ts', () => {
  it('refuses a bad environment with exit 1 and a log line naming the variable', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', SHUTDOWN_GRACE_S: '-1', DATA_DIR: ':memory:' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const fatal = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } })
      .find((e) => e.level === 60);
    expect(fatal?.msg).toBe('invalid configuration');
    expect(fatal?.err?.message).toMatch(/PORT/);
    expect(fatal?.err?.message).toMatch(/SHUTDOWN_GRACE_S/);
  });

  it('logs its address as structured JSON, serves, and exits 0 on SIGINT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-server-'));
    dirs.push(dir);
    const server = await startServer({ DATA_DIR: dir });
    const listening = server.lines
      .map((l) => JSON.parse(l) as { msg?: string; address?: string })
      .find((e) => e.msg === 'gradient lab listening');
    expect(listening?.address).toBe(server.url);
    expect((await json(`${server.url}/healthz`)).status).toBe(200);
    server.child.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.lines.some((l) => l.includes('"shut down cleanly"'))).toBe(true);
  });
});
