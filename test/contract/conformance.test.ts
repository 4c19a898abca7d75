/**
 * Independent conformance: the real server (src/server.ts, the embedded runtime on a temporary
 * DATA_DIR, a real port) behind Stoplight Prism's validating proxy. Every route is called, and every
 * status and error code openapi.yaml documents for it is provoked for real; Prism checks each
 * response against the document (`--errors` turns a violation into a 500 from Prism, and the
 * `sl-violations` header lists it). The run must show zero violations, and the set of (status,
 * code) pairs exercised per route must equal the set documented for it.
 *
 * Two proxies: valid requests go through one that validates requests too; deliberately bad
 * requests (which that one would answer itself) through one started with
 * `--validate-request=false`, so the server answers them and Prism checks the answer.
 * The WebSocket upgrade (101) cannot pass through Prism: it is exercised against the server
 * directly and counted apart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ServerProcess, startServer } from '../ops/process.js';
import { type PrismProxy, startPrism } from './prism.js';

const ALICE = 'conformance-alice-key';
const BURNER = 'conformance-burner-key';
const RATE_LIMIT_MAX = 300;
const BODY_LIMIT = 16_384;

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>>;
};

const doc = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Doc;

/** "GET /v1/jobs/{id}" → Map(status → set of codes; '' for a success response). */
function documented(): Map<string, Map<number, Set<string>>> {
  const out = new Map<string, Map<number, Set<string>>>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const statuses = new Map<number, Set<string>>();
      for (const [status, response] of Object.entries(op.responses)) {
        const content = response['content'] as Record<string, { schema: Record<string, unknown> }> | undefined;
        const problem = content?.['application/problem+json']?.schema as
          | { allOf: [unknown, { properties: { code: { enum: string[] } } }] }
          | undefined;
        statuses.set(Number(status), new Set(problem ? problem.allOf[1].properties.code.enum : ['']));
      }
      out.set(`${method.toUpperCase()} ${p}`, statuses);
    }
  }
  return out;
}

interface Exchange {
  op: string;
  status: number;
  code: string;
  body: string;
}

const exercised = new Map<string, Map<number, Set<string>>>();
const violations: string[] = [];
let requests = 0;
let direct = 0;

function record(op: string, status: number, code: string): void {
  const statuses = exercised.get(op) ?? new Map<number, Set<string>>();
  const codes = statuses.get(status) ?? new Set<string>();
  codes.add(code);
  statuses.set(status, codes);
  exercised.set(op, statuses);
}

let server: ServerProcess;
let strict: PrismProxy;
let lax: PrismProxy;
let dataDir: string;

interface Call {
  op: string;
  url: string;
  method?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  key?: string | null;
  via?: 'strict' | 'lax';
}

/** One request through a proxy: records what the server answered and any violation Prism saw. */
async function call(c: Call, expectStatus?: number, expectCode?: string): Promise<Exchange & { json: unknown }> {
  const proxy = c.via === 'lax' ? lax : strict;
  const headers: Record<string, string> = {};
  const key = c.key === undefined ? ALICE : c.key;
  if (key) headers['authorization'] = `Bearer ${key}`;
  let payload: string | undefined;
  if (c.raw !== undefined || c.body !== undefined) {
    payload = c.raw ?? JSON.stringify(c.body);
    headers['content-type'] = c.contentType ?? 'application/json';
  }
  const r = await fetch(proxy.url + c.url, { method: c.method ?? 'GET', headers, body: payload });
  const body = await r.text();
  requests += 1;
  const where = `${c.method ?? 'GET'} ${c.url} (${c.op}) → ${r.status}`;
  const header = r.headers.get('sl-violations');
  if (header) violations.push(`${where}: ${header}`);
  let json: unknown = null;
  try {
    json = JSON.parse(body);
  } catch {
    // CSV, NDJSON, metrics
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type.startsWith('https://stoplight.io/prism/errors#')) {
    // Prism answered itself: a violation (VIOLATIONS) or a request it refused to forward.
    violations.push(`${where}: prism answered ${body.slice(0, 2000)}`);
    return { op: c.op, status: r.status, code: 'PRISM', body, json };
  }
  const problem = (r.headers.get('content-type') ?? '').startsWith('application/problem+json');
  const code = problem ? String((json as { code?: unknown } | null)?.code ?? '?') : '';
  record(c.op, r.status, code);
  if (expectStatus !== undefined) expect(r.status, `${where}: ${body.slice(0, 500)}`).toBe(expectStatus);
  if (expectCode !== undefined) expect(code, `${where}: ${body.slice(0, 500)}`).toBe(expectCode);
  return { op: c.op, status: r.status, code, body, json };
}

const quickSpec = {
  name: 'conformance quick',
  seed: 1,
  network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1.1 } },
  training: { steps: 20 },
};
const STORE_MAX_BYTES = 100_000_000;
const KEY_QUOTA_BYTES = 250_000_000;
/** Its series may take ≈ 146 MB (estimateWork().seriesBytes): over the store's budget, inside the key's quota. */
const overBudgetSpec = {
  name: 'conformance: over the storage budget',
  network: { kind: 'linear', depth: 10, width: 1 },
  training: { steps: 400_000, batchSize: 1 },
};
/** Its series may take ≈ 258 MB (under the per-job memory limit): over the key's quota, which is checked first. */
const overQuotaSpec = {
  name: 'conformance: over the key quota',
  network: {
    kind: 'rnn',
    hidden: 1,
    seqLength: 2000,
    activation: 'identity',
    init: { scheme: 'scaled-identity', gain: 1 },
  },
  training: { steps: 16_000, batchSize: 1, learningRate: 1e-9 },
  record: { hiddenGradNorms: true },
};
/** Long enough to stay running while the rest of the run happens (it is cancelled or drained). */
const longSpec = {
  name: 'conformance long',
  seed: 2,
  network: { kind: 'mlp', depth: 4, width: 64 },
  training: { steps: 100_000 },
};
const sweepBody = (steps: number) => ({
  name: 'conformance sweep',
  base: { seed: 5, network: { kind: 'linear', depth: 3, width: 2 }, training: { steps } },
  axes: [{ path: 'training.learningRate', values: [0.01, 0.1] }],
});
const tooLarge = { name: 'x'.repeat(BODY_LIMIT + 10), network: { kind: 'linear', depth: 2, width: 2 } };
const poisoned = '{"__proto__": {"polluted": true}, "network": {"kind": "linear", "depth": 2, "width": 2}}';
const LONG_ID = 'x'.repeat(80);

/** The body-level failures every JSON-body route answers before its handler runs. */
async function bodyFailures(op: string, url: string): Promise<void> {
  await call({ op, url, method: 'POST', body: {}, via: 'lax' }, 400, 'GL_ERR_VALIDATION');
  await call({ op, url, method: 'POST', raw: poisoned, via: 'lax' }, 400, 'GL_ERR_MALFORMED_BODY');
  await call({ op, url, method: 'POST', body: tooLarge, via: 'lax' }, 413, 'GL_ERR_BODY_TOO_LARGE');
  await call(
    { op, url, method: 'POST', raw: 'hello', contentType: 'text/plain', via: 'lax' },
    415,
    'GL_ERR_UNSUPPORTED_MEDIA_TYPE',
  );
}

async function waitForStatus(id: string, wanted: (s: string) => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${server.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${ALICE}` } });
    const job = (await r.json()) as { status: string };
    if (wanted(job.status)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`job ${id} did not reach the wanted status`);
}

/** A WebSocket straight to the server (Prism does not proxy upgrades): resolves with the messages. */
function socketMessages(url: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: unknown[] = [];
    ws.onmessage = (e) => got.push(JSON.parse(String(e.data)));
    ws.onerror = () => reject(new Error(`WebSocket error on ${url}`));
    ws.onclose = (e) => (e.code === 1000 ? resolve(got) : reject(new Error(`closed with ${e.code}`)));
  });
}

describe('openapi.yaml, checked by Prism against the real server', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gl-conformance-'));
    server = await startServer({
      DATA_DIR: dataDir,
      WORKERS: '1',
      MAX_QUEUE: '2',
      API_KEYS: `${ALICE},${BURNER}`,
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      BODY_LIMIT: String(BODY_LIMIT),
      SHUTDOWN_GRACE_S: '60',
      // Room for everything below, but not for the two outsized specs that exercise 507 and 429.
      STORE_MAX_BYTES: String(STORE_MAX_BYTES),
      KEY_QUOTA_BYTES: String(KEY_QUOTA_BYTES),
    });
    const started = Date.now();
    [strict, lax] = await Promise.all([
      startPrism(server.url, { validateRequest: true }),
      startPrism(server.url, { validateRequest: false }),
    ]);
    console.log(`prism: both proxies ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 180_000);

  afterAll(async () => {
    await strict?.stop();
    await lax?.stop();
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every route, status and error code as documented, with zero violations', async () => {
    // Control: the strict proxy really validates (it answers an invalid request itself).
    const refused = await fetch(`${strict.url}/v1/jobs?limit=0`, { headers: { authorization: `Bearer ${ALICE}` } });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { type: string }).type).toMatch(/^https:\/\/stoplight\.io\/prism\/errors#/);

    // Ops.
    await call({ op: 'GET /healthz', url: '/healthz', key: null }, 200);
    await call({ op: 'GET /readyz', url: '/readyz', key: null }, 200);
    await call({ op: 'GET /metrics', url: '/metrics', key: null }, 200);

    // Catalogue.
    const catalogue = await call({ op: 'GET /v1/presets', url: '/v1/presets' }, 200);
    const presets = (catalogue.json as { presets: { spec: object }[] }).presets;
    expect(presets.length).toBeGreaterThan(0);
    await call({ op: 'GET /v1/sweeps/presets', url: '/v1/sweeps/presets' }, 200);

    // A job that runs to the end; then its reads.
    const J = 'POST /v1/jobs';
    const job = await call({ op: J, url: '/v1/jobs', method: 'POST', body: quickSpec }, 202);
    const jobId = (job.json as { id: string }).id;
    await call({ op: J, url: '/v1/jobs', method: 'POST', body: presets[0]!.spec }, 202);
    await call({ op: 'GET /v1/jobs/{id}/events', url: `/v1/jobs/${jobId}/events` }, 200);
    await call({ op: 'GET /v1/jobs/{id}', url: `/v1/jobs/${jobId}` }, 200);
    await call({ op: 'GET /v1/jobs', url: '/v1/jobs?limit=5' }, 200);
    await call({ op: 'GET /v1/jobs/{id}/result', url: `/v1/jobs/${jobId}/result` }, 200);
    await call({ op: 'GET /v1/jobs/{id}/result', url: `/v1/jobs/${jobId}/result?format=csv` }, 200);

    // A sweep that runs to the end; then its reads.
    const S = 'POST /v1/sweeps';
    const sweep = await call({ op: S, url: '/v1/sweeps', method: 'POST', body: sweepBody(10) }, 202);
    const sweepId = (sweep.json as { id: string }).id;
    await call({ op: 'GET /v1/sweeps/{id}/events', url: `/v1/sweeps/${sweepId}/events` }, 200);
    await call({ op: 'GET /v1/sweeps/{id}', url: `/v1/sweeps/${sweepId}` }, 200);
    await call({ op: 'GET /v1/sweeps/{id}', url: `/v1/sweeps/${sweepId}?format=csv` }, 200);
    await call({ op: 'GET /v1/sweeps', url: '/v1/sweeps?limit=5' }, 200);

    // The WebSocket routes: 101 and the events, straight to the server.
    const ws = server.url.replace('http', 'ws');
    const jobEvents = await socketMessages(`${ws}/v1/jobs/${jobId}/stream?access_token=${ALICE}`);
    expect((jobEvents.at(-1) as { type: string }).type).toBe('done');
    const sweepEvents = await socketMessages(`${ws}/v1/sweeps/${sweepId}/stream?access_token=${ALICE}`);
    expect((sweepEvents.at(-1) as { type: string }).type).toBe('done');
    record('GET /v1/jobs/{id}/stream', 101, '');
    record('GET /v1/sweeps/{id}/stream', 101, '');
    direct += 2;
    // Without the upgrade: 426.
    await call({ op: 'GET /v1/jobs/{id}/stream', url: `/v1/jobs/${jobId}/stream` }, 426, 'GL_ERR_UPGRADE_REQUIRED');
    await call(
      { op: 'GET /v1/sweeps/{id}/stream', url: `/v1/sweeps/${sweepId}/stream` },
      426,
      'GL_ERR_UPGRADE_REQUIRED',
    );

    // The queue: one worker runs a long job, MAX_QUEUE=2 hold two more, the next is refused.
    const long = await call({ op: J, url: '/v1/jobs', method: 'POST', body: longSpec }, 202);
    const longId = (long.json as { id: string }).id;
    await waitForStatus(longId, (s) => s === 'running');
    const queued: string[] = [];
    for (let i = 0; i < 2; i++) {
      const q = await call({ op: J, url: '/v1/jobs', method: 'POST', body: longSpec }, 202);
      queued.push((q.json as { id: string }).id);
    }
    await call({ op: J, url: '/v1/jobs', method: 'POST', body: longSpec }, 503, 'GL_ERR_QUEUE_FULL');
    const D = 'DELETE /v1/jobs/{id}';
    await call({ op: D, url: `/v1/jobs/${queued[0]}`, method: 'DELETE' }, 200);
    await waitForStatus(queued[0]!, (s) => s === 'cancelled');
    await call({ op: D, url: `/v1/jobs/${queued[0]}`, method: 'DELETE' }, 409, 'GL_ERR_JOB_ENDED');
    await call({ op: D, url: `/v1/jobs/${queued[1]}`, method: 'DELETE' }, 200);

    // A sweep whose cells wait behind the long job: cancelled, then 409.
    const waiting = await call({ op: S, url: '/v1/sweeps', method: 'POST', body: sweepBody(50) }, 202);
    const waitingId = (waiting.json as { id: string }).id;
    const DS = 'DELETE /v1/sweeps/{id}';
    await call({ op: DS, url: `/v1/sweeps/${waitingId}`, method: 'DELETE' }, 200);
    await call({ op: DS, url: `/v1/sweeps/${waitingId}`, method: 'DELETE' }, 409, 'GL_ERR_SWEEP_ENDED');

    // Storage: the key's quota, then the store's budget; nothing is written for either.
    await call({ op: J, url: '/v1/jobs', method: 'POST', body: overQuotaSpec }, 429, 'GL_ERR_QUOTA_EXCEEDED');
    await call({ op: J, url: '/v1/jobs', method: 'POST', body: overBudgetSpec }, 507, 'GL_ERR_STORAGE_FULL');

    // Job spec failures.
    await bodyFailures(J, '/v1/jobs');
    await call(
      {
        op: J,
        url: '/v1/jobs',
        method: 'POST',
        body: { network: { kind: 'rnn', hidden: 4, seqLength: 3 }, mitigations: [{ kind: 'batch-norm' }] },
      },
      422,
      'GL_ERR_SPEC_IMPOSSIBLE',
    );
    await call(
      {
        op: J,
        url: '/v1/jobs',
        method: 'POST',
        body: { network: { kind: 'mlp', depth: 100, width: 512 }, training: { steps: 100000 } },
      },
      422,
      'GL_ERR_OVER_BUDGET',
    );

    // Not found and invalid parameters, job routes.
    for (const [op, suffix] of [
      ['GET /v1/jobs/{id}', ''],
      ['GET /v1/jobs/{id}/result', '/result'],
      ['GET /v1/jobs/{id}/events', '/events'],
      ['GET /v1/jobs/{id}/stream', '/stream'],
    ] as const) {
      await call({ op, url: `/v1/jobs/nope${suffix}` }, 404, 'GL_ERR_JOB_NOT_FOUND');
      await call({ op, url: `/v1/jobs/a.b${suffix}`, via: 'lax' }, 400, 'GL_ERR_VALIDATION');
    }
    await call({ op: D, url: '/v1/jobs/nope', method: 'DELETE' }, 404, 'GL_ERR_JOB_NOT_FOUND');
    await call({ op: D, url: '/v1/jobs/a.b', method: 'DELETE', via: 'lax' }, 400, 'GL_ERR_VALIDATION');
    await call({ op: 'GET /v1/jobs', url: '/v1/jobs?limit=0', via: 'lax' }, 400, 'GL_ERR_VALIDATION');
    // Longer than the router's maxParamLength: answered by its frameworkErrors hook, still problem+json.
    await call({ op: D, url: `/v1/jobs/${'z'.repeat(200)}`, method: 'DELETE', via: 'lax' }, 400, 'GL_ERR_VALIDATION');

    // Not found and invalid parameters, sweep routes.
    for (const [op, suffix] of [
      ['GET /v1/sweeps/{id}', ''],
      ['GET /v1/sweeps/{id}/events', '/events'],
      ['GET /v1/sweeps/{id}/stream', '/stream'],
    ] as const) {
      await call({ op, url: `/v1/sweeps/nope${suffix}` }, 404, 'GL_ERR_SWEEP_NOT_FOUND');
      await call({ op, url: `/v1/sweeps/${LONG_ID}${suffix}`, via: 'lax' }, 400, 'GL_ERR_VALIDATION');
    }
    await call({ op: DS, url: '/v1/sweeps/nope', method: 'DELETE' }, 404, 'GL_ERR_SWEEP_NOT_FOUND');
    await call({ op: DS, url: `/v1/sweeps/${LONG_ID}`, method: 'DELETE', via: 'lax' }, 400, 'GL_ERR_VALIDATION');
    await call({ op: 'GET /v1/sweeps', url: '/v1/sweeps?limit=0', via: 'lax' }, 400, 'GL_ERR_VALIDATION');

    // Sweep failures.
    await bodyFailures(S, '/v1/sweeps');
    await call(
      {
        op: S,
        url: '/v1/sweeps',
        method: 'POST',
        body: { ...sweepBody(10), axes: [{ path: 'network.foo', values: [1] }] },
      },
      422,
      'GL_ERR_SWEEP_INVALID',
    );

    // Analysis.
    const A = 'POST /v1/analysis';
    await call(
      { op: A, url: '/v1/analysis', method: 'POST', body: { network: { kind: 'mlp', depth: 3, width: 8 } } },
      200,
    );
    await bodyFailures(A, '/v1/analysis');
    const explicit = {
      network: {
        kind: 'linear',
        depth: 2,
        width: 2,
        init: {
          scheme: 'explicit',
          weights: [
            [
              [1, 0],
              [0, 1],
            ],
            [[1, 0, 0]],
          ],
        },
      },
    };
    await call({ op: A, url: '/v1/analysis', method: 'POST', body: explicit }, 422, 'GL_ERR_SPEC_IMPOSSIBLE');
    await call(
      { op: A, url: '/v1/analysis', method: 'POST', body: { network: { kind: 'mlp', depth: 500, width: 2048 } } },
      422,
      'GL_ERR_OVER_BUDGET',
    );
    // One analysis thread and eight waiting: a burst of twelve overflows it.
    const burst = await Promise.all(
      Array.from({ length: 12 }, () =>
        call({ op: A, url: '/v1/analysis', method: 'POST', body: { network: { kind: 'mlp', depth: 12, width: 96 } } }),
      ),
    );
    expect(burst.map((b) => b.code)).toContain('GL_ERR_QUEUE_FULL');

    // 401 on every /v1 route without a key.
    const routes: [op: string, method: string, url: string][] = [
      ['POST /v1/jobs', 'POST', '/v1/jobs'],
      ['GET /v1/jobs', 'GET', '/v1/jobs'],
      ['GET /v1/jobs/{id}', 'GET', `/v1/jobs/${jobId}`],
      ['DELETE /v1/jobs/{id}', 'DELETE', `/v1/jobs/${jobId}`],
      ['GET /v1/jobs/{id}/result', 'GET', `/v1/jobs/${jobId}/result`],
      ['GET /v1/jobs/{id}/events', 'GET', `/v1/jobs/${jobId}/events`],
      ['GET /v1/jobs/{id}/stream', 'GET', `/v1/jobs/${jobId}/stream`],
      ['POST /v1/analysis', 'POST', '/v1/analysis'],
      ['GET /v1/presets', 'GET', '/v1/presets'],
      ['POST /v1/sweeps', 'POST', '/v1/sweeps'],
      ['GET /v1/sweeps', 'GET', '/v1/sweeps'],
      ['GET /v1/sweeps/presets', 'GET', '/v1/sweeps/presets'],
      ['GET /v1/sweeps/{id}', 'GET', `/v1/sweeps/${sweepId}`],
      ['DELETE /v1/sweeps/{id}', 'DELETE', `/v1/sweeps/${sweepId}`],
      ['GET /v1/sweeps/{id}/events', 'GET', `/v1/sweeps/${sweepId}/events`],
      ['GET /v1/sweeps/{id}/stream', 'GET', `/v1/sweeps/${sweepId}/stream`],
    ];
    const bodyFor = (op: string) =>
      op === 'POST /v1/jobs' ? quickSpec : op === 'POST /v1/sweeps' ? sweepBody(10) : { network: explicit.network };
    for (const [op, method, url] of routes) {
      await call(
        { op, method, url, key: null, body: method === 'POST' ? bodyFor(op) : undefined },
        401,
        'GL_ERR_UNAUTHORIZED',
      );
    }

    // 429 on every /v1 route: spend the burner key's window straight at the server, then call each route.
    const spent = await Promise.all(
      Array.from({ length: RATE_LIMIT_MAX }, () =>
        fetch(`${server.url}/v1/sweeps/presets`, { headers: { authorization: `Bearer ${BURNER}` } }).then((r) => {
          void r.body?.cancel();
          return r.status;
        }),
      ),
    );
    expect(spent.filter((s) => s === 200).length).toBeGreaterThan(0);
    for (const [op, method, url] of routes) {
      await call(
        { op, method, url, key: BURNER, body: method === 'POST' ? bodyFor(op) : undefined },
        429,
        'GL_ERR_RATE_LIMITED',
      );
    }

    // Draining: SIGTERM while the long job runs; the listener stays up for its grace.
    server.child.kill('SIGTERM');
    const drainDeadline = Date.now() + 10_000;
    while ((await fetch(`${server.url}/readyz`)).status !== 503 && Date.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await call({ op: 'GET /readyz', url: '/readyz', key: null }, 503);
    await call({ op: J, url: '/v1/jobs', method: 'POST', body: quickSpec }, 503, 'GL_ERR_DRAINING');
    await call({ op: S, url: '/v1/sweeps', method: 'POST', body: sweepBody(10) }, 503, 'GL_ERR_DRAINING');
    await call({ op: D, url: `/v1/jobs/${longId}`, method: 'DELETE' }, 200);
    expect((await server.exited).code).toBe(0);

    console.log(
      `prism: ${requests} requests through the validating proxies, ${violations.length} violations; ${direct} WebSocket upgrades straight to the server`,
    );
    expect(violations, violations.join('\n')).toEqual([]);

    // Every documented (status, code) was exercised, and nothing undocumented was answered.
    const want = documented();
    const asSorted = (m: Map<string, Map<number, Set<string>>>) =>
      Object.fromEntries(
        [...m.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([op, statuses]) => [
            op,
            Object.fromEntries(
              [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, codes]) => [s, [...codes].sort()]),
            ),
          ]),
      );
    expect(asSorted(exercised)).toEqual(asSorted(want));
  }, 240_000);
});
