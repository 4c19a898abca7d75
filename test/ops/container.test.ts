/**
 * Static checks of the container files that scripts/container-check.sh (which runs the Dockerfile's
 * commands for real, ~3 min) does not cover, plus the image's HEALTHCHECK command run against a
 * live server and a dead port.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ROOT, type ServerProcess, startServer } from './process.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages[stages.length - 1];
const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    {
      volumes: string[];
      environment: Record<string, string>;
      stop_grace_period: string;
      healthcheck: { test: string[] };
    }
  >;
  volumes: Record<string, unknown>;
};
const service = Object.values(compose.services)[0];
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** The exec-form `CMD [..]` arguments of the instruction starting with `keyword` (continuations joined). */
function execForm(text: string, keyword: 'CMD' | 'HEALTHCHECK'): string[] {
  const line = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .find((l) => l.startsWith(`${keyword} `))!;
  return JSON.parse(line.slice(line.indexOf('CMD [') + 4)) as string[];
}

describe('Dockerfile', () => {
  it('builds in one stage and runs from a slim node 20 stage as a non-root user', () => {
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s).toMatch(/^node:20-bookworm-slim\b/);
    expect(stages[0]).toMatch(/^RUN npm ci\b/m);
    expect(stages[0]).toMatch(/^RUN npm run build$/m);
    expect(stages[0]).toMatch(/^RUN npm prune --omit=dev\b/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^RUN npm /m);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(runtime).toMatch(/DATA_DIR=\/data/);
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
    expect(execForm(runtime, 'CMD')).toEqual(['node', 'dist/server.js']);
  });

  it('keeps the host’s modules, build output, data and VCS out of the build context', () => {
    for (const p of ['node_modules', 'dist', 'data', '.git']) expect(dockerignore).toContain(p);
    // What the build needs must stay in.
    for (const p of ['src', 'package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'public']) {
      expect(dockerignore).not.toContain(p);
    }
  });
});

describe('docker-compose.yml', () => {
  it('mounts a named volume on /data and probes /readyz as the image does', () => {
    expect(service.volumes.some((v) => /^[\w-]+:\/data$/.test(v))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain(service.volumes[0].split(':')[0]);
    expect(service.healthcheck.test.join(' ')).toContain('/readyz');
    const [kind, program, flag] = service.healthcheck.test;
    expect([kind, program, flag]).toEqual(['CMD', ...execForm(runtime, 'HEALTHCHECK').slice(0, 2)]);
  });

  it('lets Docker wait longer than the shutdown grace before SIGKILL', () => {
    const grace = Number(service.environment.SHUTDOWN_GRACE_S);
    expect(Number.parseInt(service.stop_grace_period, 10)).toBeGreaterThan(grace);
  });
});

describe('the HEALTHCHECK command', () => {
  const probe = execForm(runtime, 'HEALTHCHECK');
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  const run = (port: string) =>
    spawnSync(probe[0] === 'node' ? process.execPath : probe[0], probe.slice(1), {
      env: { PORT: port },
      timeout: 10_000,
    }).status;

  it('exits 0 against a ready server and 1 when nothing listens', () => {
    expect(run(new URL(server.url).port)).toBe(0);
    expect(run('9')).toBe(1);
  });
});
