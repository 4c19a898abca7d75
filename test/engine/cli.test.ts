/**
 * The CLI, spawned as a user runs it: bin/gradient-lab.js → dist/cli.js, in a package built the way
 * `npm run build` builds it (tsconfig.json, into a temporary dist/). A second, fake package checks
 * which entry the bin picks: dist/ when it is at least as new as src/, the sources through tsx when
 * dist/ is missing or stale, an explanation when neither is there.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SPECS, exampleSpecFiles, SPECS_DIR } from '../../scripts/example-specs.js';
import { DoneEvent, JobEvent, Series, Summary } from '../../src/contract/events.js';
import { presets } from '../../src/contract/presets.js';
import { JobSpec } from '../../src/contract/spec.js';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gl-cli-'));
const pkg = join(dir, 'pkg');
const bin = join(pkg, 'bin', 'gradient-lab.js');

/** A package like the one a user gets: package.json, bin/, the compiled dist/, node_modules. */
function packageSkeleton(at: string): void {
  mkdirSync(join(at, 'bin'), { recursive: true });
  copyFileSync(join(root, 'package.json'), join(at, 'package.json'));
  copyFileSync(join(root, 'bin', 'gradient-lab.js'), join(at, 'bin', 'gradient-lab.js'));
  symlinkSync(join(root, 'node_modules'), join(at, 'node_modules'), 'dir');
}

beforeAll(async () => {
  packageSkeleton(pkg);
  // The project's own build configuration, only the output directory moved.
  await promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(pkg, 'dist')],
    { cwd: root },
  );
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collect(child: ChildProcess, stdin?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(stdin ?? '');
  });
}

function cli(args: string[], stdin?: string, binPath = bin) {
  return collect(spawn(process.execPath, [binPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }), stdin);
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

describe('usage', () => {
  it('no arguments, --help, -h and run --help print the usage as plain text on stdout, exit 0', async () => {
    const outs = await Promise.all([cli([]), cli(['--help']), cli(['-h']), cli(['run', '--help'])]);
    for (const { code, stdout, stderr } of outs) {
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toBe(outs[0].stdout);
    }
    const text = outs[0].stdout;
    expect(text.startsWith('Usage: gradient-lab run <spec.json | -> [--result]\n')).toBe(true);
    expect(text).toContain('--result');
    expect(text).toContain('examples/specs/textbook-exploding.json');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('a bad command or option exits 2 with one plain line, a suggestion and the pointer to --help', async () => {
    const cmd = await cli(['rnu', 'x.json']);
    expect(cmd.code).toBe(2);
    expect(cmd.stdout).toBe('');
    expect(cmd.stderr).toBe(
      'gradient-lab: unknown command rnu; did you mean run?\nRun "gradient-lab --help" for usage.\n',
    );
    const opt = await cli(['run', 'x.json', '--reslt']);
    expect(opt.code).toBe(2);
    expect(opt.stderr.split('\n')[0]).toBe('gradient-lab: unknown option --reslt; did you mean --result?');
    const none = await cli(['fly']);
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe('gradient-lab: unknown command fly');
  });
});

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

  it('an invalid spec exits 2 with one plain "path: message" line per field', async () => {
    const { code, stdout, stderr } = await cli(['run', '-'], JSON.stringify({ network: { kind: 'mlp', depth: 0 } }));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('gradient-lab: the spec on stdin is not a valid job spec:');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}network\.depth: Too small/));
  });

  it('a typo in a field name or an option gets the nearest name the schema accepts', async () => {
    const path = specFile('typos.json', {
      network: { kind: 'linear', depht: 3, init: { scheme: 'scaled-identity', gian: 1.5 } },
      trainng: { steps: 5 },
      mitigations: [{ kind: 'clip-norm', maxnorm: 1 }],
    });
    const { code, stderr } = await cli(['run', path]);
    expect(code).toBe(2);
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`gradient-lab: ${path} is not a valid job spec:`);
    expect(lines).toContain('  trainng: unknown field; did you mean "training"?');
    expect(lines).toContain('  network.depht: unknown field; did you mean "depth"?');
    expect(lines).toContain('  network.init.gian: unknown field; did you mean "gain"?');
    expect(lines).toContain('  mitigations.0.maxnorm: unknown field; did you mean "maxNorm"?');
    const kind = await cli(['run', '-'], JSON.stringify({ network: { kind: 'rnnn' }, training: { optimizer: 'adm' } }));
    expect(kind.stderr).toMatch(/^ {2}network\.kind: .*; did you mean "rnn"\?$/m);
    expect(kind.stderr).toMatch(/^ {2}training\.optimizer: .*; did you mean "adam"\?$/m);
  });

  it('an impossible spec (checkSpec) exits 2 naming the field', async () => {
    const { code, stderr } = await cli(
      ['run', '-'],
      JSON.stringify({ network: { kind: 'rnn' }, mitigations: [{ kind: 'batch-norm' }] }),
    );
    expect(code).toBe(2);
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('gradient-lab: the spec on stdin cannot run:');
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^ {2}mitigations\.0: .*mlp/)]);
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

  it('bad JSON and a missing file exit 2 saying which', async () => {
    const bad = await cli(['run', '-'], '{not json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^gradient-lab: the spec on stdin is not valid JSON: /);
    const missing = await cli(['run', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^gradient-lab: cannot read .*missing\.json: ENOENT/);
  });
});

describe('examples/specs', () => {
  const expected = new Map<string, { gradients: string; training: string }>();
  for (const p of presets) {
    expected.set(p.id, { gradients: p.expectedGradients, training: p.expectedTraining });
    for (const m of p.mitigated) expected.set(m.id, { gradients: m.expectedGradients, training: m.expectedTraining });
  }

  it('holds exactly the files scripts/example-specs.ts writes from the presets (no drift)', () => {
    const files = exampleSpecFiles();
    expect(readdirSync(SPECS_DIR).sort()).toEqual([...files.keys()].sort());
    for (const [file, text] of files) expect(readFileSync(join(SPECS_DIR, file), 'utf8'), file).toBe(text);
  });

  it.each(Object.entries(EXAMPLE_SPECS))(
    '%s parses under the job-spec schema and runs through the CLI',
    async (file, { id }) => {
      const path = join(SPECS_DIR, file);
      expect(JobSpec.safeParse(JSON.parse(readFileSync(path, 'utf8'))).success).toBe(true);
      const { code, stdout, stderr } = await cli(['run', path, '--result']);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const summary = Summary.parse(JSON.parse(stdout).summary);
      // The verdicts the preset of the same name promises (test/presets.test.ts pins them in-process).
      expect({ gradients: summary.gradients.verdict, training: summary.training.verdict }).toEqual(expected.get(id));
      if (file === 'textbook-clipped.json') expect(summary.mitigation.clipping?.stepsClipped).toBeGreaterThan(0);
    },
  );
});

describe('which entry the bin runs', () => {
  const fake = join(dir, 'fake');
  const fakeBin = join(fake, 'bin', 'gradient-lab.js');
  const distCli = join(fake, 'dist', 'cli.js');
  const srcCli = join(fake, 'src', 'cli.ts');
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  beforeAll(() => {
    packageSkeleton(fake);
    mkdirSync(join(fake, 'dist'));
    mkdirSync(join(fake, 'src', 'engine'), { recursive: true });
    writeFileSync(distCli, "process.stdout.write('dist ' + process.argv.slice(2).join(' '));\n");
    writeFileSync(
      srcCli,
      "const from: string = 'src';\nprocess.stdout.write(from + ' ' + process.argv.slice(2).join(' '));\n",
    );
    writeFileSync(join(fake, 'src', 'engine', 'other.ts'), 'export {};\n');
  });

  it('dist/cli.js when it is at least as new as every source file', async () => {
    at(srcCli, 1_000);
    at(join(fake, 'src', 'engine', 'other.ts'), 1_000);
    at(distCli, 2_000);
    expect(await cli(['--help'], undefined, fakeBin)).toEqual({ code: 0, stdout: 'dist --help', stderr: '' });
  });

  it('the sources through tsx when any of them is newer than dist/ (never stale code)', async () => {
    at(join(fake, 'src', 'engine', 'other.ts'), 3_000);
    expect(await cli(['run', 'x'], undefined, fakeBin)).toEqual({ code: 0, stdout: 'src run x', stderr: '' });
    rmSync(distCli);
    expect((await cli([], undefined, fakeBin)).stdout).toBe('src ');
  });

  it('neither: says to build, exit 2', async () => {
    rmSync(join(fake, 'src'), { recursive: true });
    const { code, stderr } = await cli(['--help'], undefined, fakeBin);
    expect(code).toBe(2);
    expect(stderr).toContain('npm run build');
  });

  it('the checkout’s own bin answers --help', async () => {
    const { code, stdout } = await cli(['--help'], undefined, join(root, 'bin', 'gradient-lab.js'));
    expect(code).toBe(0);
    expect(stdout.startsWith('Usage: gradient-lab run')).toBe(true);
  });
});
