/**
 * Static checks of the container files that scripts/container-check.sh (which builds the image for
 * real with buildah and smoke-tests it; CI runs it after the suite) does not cover, plus the image's
 * HEALTHCHECK command run against a live server and a dead port.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ROOT, type ServerProcess, startServer } from './process.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const nodeMajor = readFileSync(join(ROOT, '.node-version'), 'utf8').trim().split('.')[0];
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages[stages.length - 1];
const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    {
      build: { context: string; dockerfile: string };
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
  it('builds in one stage and runs from a slim stage of the pinned Node major as a non-root user', () => {
    expect(nodeMajor).toBe('24');
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s).toMatch(new RegExp(`^node:${nodeMajor}-bookworm-slim\\b`));
    // npm can exit 0 after a partial install: the RUN line checks the compiler and the native module.
    expect(stages[0]).toMatch(
      /^RUN npm ci\b.*\\\n.*test -x node_modules\/\.bin\/tsc.*\\\n.*require\('better-sqlite3'\)/m,
    );
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

describe('scripts/container-check.sh', () => {
  // A PATH with only `id` on it: no buildah, no debootstrap, as on a developer's laptop.
  const run = (env: Record<string, string>) => {
    const bin = mkdtempSync(join(tmpdir(), 'gl-nobuildah-'));
    try {
      symlinkSync('/usr/bin/id', join(bin, 'id'));
      return spawnSync('/bin/bash', [join(ROOT, 'scripts/container-check.sh')], {
        env: { PATH: bin, ...env },
        encoding: 'utf8',
        timeout: 10_000,
      });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  };

  it('says SKIP where buildah is missing, and fails instead when CI requires the real build', () => {
    const skipped = run({});
    expect(skipped.status).toBe(0);
    expect(skipped.stderr).toMatch(/SKIP: the real image build needs root, buildah and debootstrap/);
    const required = run({ GL_REQUIRE_CONTAINER: '1' });
    expect(required.status).toBe(1);
    expect(required.stderr).toMatch(/FAILED: the real image build needs/);
  });

  it('is what CI runs, required, after the suite, on the pinned Node', () => {
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    const at = (re: RegExp) => ci.search(re);
    expect(at(/^\. scripts\/use-node\.sh$/m)).toBeGreaterThan(-1);
    expect(at(/^\. scripts\/use-node\.sh$/m)).toBeLessThan(at(/^npm ci$/m));
    expect(at(/^npm test$/m)).toBeLessThan(at(/^GL_REQUIRE_CONTAINER=1 bash scripts\/container-check\.sh$/m));
  });
});

describe('docker-compose.yml', () => {
  it('builds the Dockerfile, mounts a named volume on /data and probes /readyz as the image does', () => {
    expect(service.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
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
