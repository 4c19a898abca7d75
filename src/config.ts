/**
 * The service's configuration, read from environment variables and validated by zod. Every
 * variable has a default that works on a laptop; the README lists them all.
 */

import os from 'node:os';
import { z } from 'zod';
import { fmaAvailable } from './engine/wasm/index.js';
import { type Deployment, parseDeployment } from './runtime/distributed/deployment.js';

const MiB = 1024 * 1024;

// Empty strings count as unset: `FOO=` in a compose file or a shell should mean "the default".
const unsetIfEmpty = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
// Non-numeric strings stay strings so the error says what was received instead of "NaN".
const toNumber = (v: unknown) => {
  const u = unsetIfEmpty(v);
  if (typeof u !== 'string') return u;
  const n = Number(u);
  return Number.isNaN(n) ? u : n;
};

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const num = <T extends z.ZodType>(inner: T) => z.preprocess(toNumber, inner);
const str = <T extends z.ZodType>(inner: T) => z.preprocess(unsetIfEmpty, inner);
const list = () =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v : ''),
    z.string().transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    ),
  );

export const EnvSchema = z.object({
  PORT: num(integer(0, 65535).default(8080)),
  HOST: str(z.string().min(1).default('0.0.0.0')),
  LOG_LEVEL: str(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  WORKERS: num(integer(1, 256).default(() => os.availableParallelism())),
  /** `:memory:` keeps jobs in memory only (nothing survives a restart). */
  DATA_DIR: str(z.string().min(1).default('./data')),
  MAX_QUEUE: num(integer(1).default(1000)),
  MAX_WORK_FLOPS: num(z.number().positive().default(5e11)),
  MAX_JOB_BYTES: num(integer(1024).default(256 * MiB)),
  BODY_LIMIT: num(integer(1024).default(4 * MiB)),
  JOB_TTL: num(integer(1).optional()),
  MAX_JOBS: num(integer(1).optional()),
  STORE_MAX_BYTES: num(integer(0).optional()),
  KEY_QUOTA_BYTES: num(integer(0).optional()),
  API_KEYS: list(),
  CORS_ORIGINS: list(),
  RATE_LIMIT_MAX: num(integer(1).default(600)),
  RATE_LIMIT_WINDOW_MS: num(integer(1).default(60_000)),
  SHUTDOWN_GRACE_S: num(z.number().min(0).max(3600).default(10)),
  WS_MAX_BUFFER_BYTES: num(integer(1024).default(1 * MiB)),
  WS_PING_MS: num(integer(100).default(15_000)),
  WS_STALL_MS: num(integer(10).default(10_000)),
  WORKER_MAX_OLD_GEN_MB: num(integer(16).default(512)),
  /** Kernels of the embedded runtime (docs/design.md, "Exact vs FMA kernels"); fma needs relaxed SIMD. */
  ENGINE_KERNELS: str(z.enum(['exact', 'fma']).default('exact')),
  // Backend and role (src/runtime/distributed/deployment.ts checks them together, below).
  REDIS_URL: str(z.string().optional()),
  DATABASE_URL: str(z.string().optional()),
  ROLE: str(z.string().optional()),
  DATABASE_SCHEMA: str(z.string().optional()),
  REDIS_PREFIX: str(z.string().optional()),
});

/** The validated configuration `buildApp` takes. */
export interface AppConfig {
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  workers: number;
  /** null → in-memory store. */
  dataDir: string | null;
  maxQueue: number;
  maxWorkFlops: number;
  maxJobBytes: number;
  bodyLimit: number;
  /** null → ended jobs are kept until MAX_JOBS evicts them. */
  jobTtlMs: number | null;
  maxJobs: number | null;
  /** Storage budget in bytes; undefined: the default (half the data directory's free space, ≤ 20 GiB); 0: none. */
  storeMaxBytes: number | undefined;
  /** Storage quota per API key in bytes; undefined: a quarter of the budget; 0: none. */
  keyQuotaBytes: number | undefined;
  apiKeys: string[];
  corsOrigins: string[];
  rateLimitMax: number;
  rateLimitWindowMs: number;
  shutdownGraceS: number;
  wsMaxBufferBytes: number;
  wsPingMs: number;
  /** How long a stream may wait for a reader to drain its full buffer before it is cut off. */
  wsStallMs: number;
  workerMaxOldGenMb: number;
  /** Kernels new jobs run with: exact (same bits on every CPU, the default) or fma (embedded only). */
  kernels: 'exact' | 'fma';
  /** Embedded, today always: the distributed backend is refused at start until it can run jobs. */
  deployment: Deployment;
}

/** Thrown by `loadConfig` for a bad variable; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** What `loadConfig` asks of the runtime it runs on; tests inject another. */
export interface RuntimeCapabilities {
  /** Whether WebAssembly relaxed SIMD (the FMA kernels) runs here. */
  fmaAvailable(): boolean;
}

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  runtime: RuntimeCapabilities = { fmaAvailable },
): AppConfig {
  const known = Object.fromEntries(Object.keys(EnvSchema.shape).map((k) => [k, env[k]]));
  const parsed = EnvSchema.safeParse(known);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message }));
  const deployment = parseDeployment(known);
  if (!deployment.ok) problems.push(...deployment.problems);
  else if (deployment.deployment.backend === 'distributed') {
    // The stores and event streams exist (docs/scaling.md), the job runner does not: an operator who
    // asks for the distributed backend must not silently get the embedded one.
    problems.push({
      variable: 'REDIS_URL',
      message:
        'REDIS_URL and DATABASE_URL select the distributed backend, which this version cannot run yet ' +
        '(docs/scaling.md); unset both to run embedded',
    });
  }
  if (parsed.success && parsed.data.ENGINE_KERNELS === 'fma' && !runtime.fmaAvailable()) {
    problems.push({
      variable: 'ENGINE_KERNELS',
      message: 'fma needs WebAssembly relaxed SIMD, which this Node lacks (Node 24 has it); set exact or unset it',
    });
  }
  if (!parsed.success || !deployment.ok || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    workers: e.WORKERS,
    dataDir: e.DATA_DIR === ':memory:' ? null : e.DATA_DIR,
    maxQueue: e.MAX_QUEUE,
    maxWorkFlops: e.MAX_WORK_FLOPS,
    maxJobBytes: e.MAX_JOB_BYTES,
    bodyLimit: e.BODY_LIMIT,
    jobTtlMs: e.JOB_TTL === undefined ? null : e.JOB_TTL * 1000,
    maxJobs: e.MAX_JOBS ?? null,
    storeMaxBytes: e.STORE_MAX_BYTES,
    keyQuotaBytes: e.KEY_QUOTA_BYTES,
    apiKeys: e.API_KEYS,
    corsOrigins: e.CORS_ORIGINS,
    rateLimitMax: e.RATE_LIMIT_MAX,
    rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
    shutdownGraceS: e.SHUTDOWN_GRACE_S,
    wsMaxBufferBytes: e.WS_MAX_BUFFER_BYTES,
    wsPingMs: e.WS_PING_MS,
    wsStallMs: e.WS_STALL_MS,
    workerMaxOldGenMb: e.WORKER_MAX_OLD_GEN_MB,
    kernels: e.ENGINE_KERNELS,
    deployment: deployment.deployment,
  };
}
