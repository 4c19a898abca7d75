/**
 * A job's events, live: over a WebSocket (/v1/jobs/:id/stream) and as NDJSON over plain HTTP
 * (/v1/jobs/:id/events). Both replay from `?from=seq`, go live, send `done`, and end.
 *
 * Memory per client is bounded. The job service pushes events (it keeps the history), so a
 * slow reader is never buffered for: a WebSocket whose send buffer passes WS_MAX_BUFFER_BYTES is
 * closed with 1013 (the client reconnects with `from`), and an NDJSON response whose stream buffer
 * is full unsubscribes and resubscribes from the next seq once the reader drains.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { JobParams, StreamQuery } from '../contract/api.js';
import { JobEvent } from '../contract/events.js';
import { errors } from '../errors.js';
import type { Owner, Subscription } from '../runtime/types.js';
import { metrics } from './ops.js';
import { problems, requireJob, type V1Options } from './shared.js';

/** WebSocket close codes this server uses. */
export const WS_CLOSE = {
  done: 1000,
  /** Server shutting down, or the stream was interrupted before `done`: reconnect with `from`. */
  goingAway: 1001,
  /** The client read too slowly; reconnect with `from` = the last seq received + 1. */
  tryAgainLater: 1013,
  /** The job disappeared (retention) while connected. */
  gone: 4404,
} as const;

const ClientMessage = z.object({ type: z.literal('cancel') });
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export const streamRoutes: FastifyPluginAsync<V1Options> = async (base, opts) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { service } = opts;

  app.route({
    method: 'GET',
    url: '/jobs/:id/stream',
    schema: {
      tags: ['streams'],
      operationId: 'streamJobEvents',
      summary: 'WebSocket: the job’s events (replay from `from`, then live, then `done`)',
      description: [
        'Upgrade to a WebSocket. The server sends one text message per event, each a `JobEvent` JSON object,',
        'in seq order and exactly once from `from` on, then `done`, then closes with 1000.',
        'Closes with 1013 when the client reads too slowly (reconnect with `from` = last seq + 1),',
        '1001 when the server shuts down, 4404 if the job is deleted meanwhile.',
        'The client may send `{"type":"cancel"}` to cancel the job. The server pings every WS_PING_MS.',
        'A plain GET without the upgrade answers 426.',
      ].join(' '),
      params: JobParams,
      querystring: StreamQuery,
      response: {
        101: {
          description: 'Switching protocols; the messages are JobEvent objects.',
          content: { 'application/json': { schema: JobEvent } },
        },
        ...problems(400, 401, 404, 426, 429),
      },
    },
    preHandler: async (request) => {
      await requireJob(service, request, request.params.id);
    },
    handler: async (request) => {
      throw new errors.UPGRADE_REQUIRED(request.url.split('?')[0]);
    },
    wsHandler: (socket, request) => {
      serveSocket(socket, {
        id: request.params.id,
        owner: request.owner,
        from: request.query.from,
        log: request.log,
        opts,
      });
    },
  });

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        tags: ['streams'],
        operationId: 'getJobEvents',
        summary: 'NDJSON: the job’s events (replay from `from`, then live, then `done`)',
        description:
          'One JobEvent JSON object per line, in seq order, exactly once from `from` on; the response ends after `done`. For notebooks and scripts.',
        params: JobParams,
        querystring: StreamQuery,
        response: {
          200: {
            description: 'application/x-ndjson: one JobEvent per line.',
            content: { 'application/x-ndjson': { schema: JobEvent } },
          },
          ...problems(400, 401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await requireJob(service, request, request.params.id);
      const owner = request.owner;
      const id = request.params.id;
      const stream = new EventStream(
        request.query.from,
        opts.wsMaxBufferBytes,
        opts.wsStallMs,
        (from, onEvent, onEnd) => service.subscribe(id, owner, { from, onEvent, onEnd }),
      );
      stream.on('error', (err) => request.log.warn({ err }, 'event stream failed'));
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(stream as never);
    },
  );
};

interface SocketContext {
  id: string;
  owner: Owner;
  from: number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  opts: V1Options;
}

function serveSocket(socket: WebSocket, ctx: SocketContext): void {
  const { service, wsMaxBufferBytes, wsPingMs, wsStallMs } = ctx.opts;
  let sub: Subscription | null = null;
  let finished = false;
  let paused = false;
  let stall: NodeJS.Timeout | undefined;
  let nextSeq = ctx.from;
  let sawDone = false;
  metrics.wsClients.inc();

  const finish = (code: number, reason: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(stall);
    sub?.close();
    socket.close(code, reason);
  };

  // Attached before any await: a client may send cancel as its very first message.
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (!ClientMessage.safeParse(msg).success) return;
    service.cancel(ctx.id, ctx.owner).catch((err: unknown) => {
      // Cancelling a job that has just ended is not a fault: the stream's `done` says how it ended.
      ctx.log.debug({ err }, 'cancel over websocket refused');
    });
  });

  let alive = true;
  socket.on('pong', () => {
    alive = true;
  });
  const ping = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, wsPingMs);
  ping.unref();

  socket.on('close', () => {
    clearInterval(ping);
    clearTimeout(stall);
    metrics.wsClients.dec();
    finished = true;
    sub?.close();
  });
  socket.on('error', (err) => ctx.log.warn({ err }, 'websocket error'));

  // The service pushes events; when the send buffer is full we stop taking them (the service keeps
  // the history) and resume from `nextSeq` once the buffer has flushed. A reader that does not
  // drain within WS_STALL_MS is cut off with 1013 and reconnects with `from`.
  const subscribe = () => {
    let mine: Subscription | null = null;
    let stopped = false;
    const stop = () => {
      stopped = true;
      mine?.close();
    };
    service
      .subscribe(ctx.id, ctx.owner, {
        from: nextSeq,
        onEvent(event: JobEvent) {
          if (finished || stopped || event.seq < nextSeq) return;
          nextSeq = event.seq + 1;
          const last = event.type === 'done';
          if (last) sawDone = true;
          socket.send(JSON.stringify(event), () => {
            // Each flushed message reports here; resume once the backlog behind it is small again.
            if (!paused || finished || last || socket.bufferedAmount > wsMaxBufferBytes / 2) return;
            paused = false;
            clearTimeout(stall);
            subscribe();
          });
          if (!last && socket.bufferedAmount > wsMaxBufferBytes) {
            paused = true;
            stop();
            stall = setTimeout(
              () => finish(WS_CLOSE.tryAgainLater, `slow consumer: reconnect with from=${nextSeq}`),
              wsStallMs,
            );
          }
        },
        onEnd() {
          if (stopped) return;
          if (sawDone) {
            finish(WS_CLOSE.done, 'done');
            return;
          }
          // Ended without `done`: either `from` was past the end of an ended job (nothing to send),
          // or the service is shutting down or handed the job back to the queue (come back later).
          service.get(ctx.id, ctx.owner).then(
            (job) =>
              job && ENDED.has(job.status)
                ? finish(WS_CLOSE.done, 'done')
                : finish(WS_CLOSE.goingAway, `stream interrupted: reconnect with from=${nextSeq}`),
            () => finish(WS_CLOSE.goingAway, `stream interrupted: reconnect with from=${nextSeq}`),
          );
        },
      })
      .then(
        (s) => {
          mine = s;
          if (s === null) {
            finish(WS_CLOSE.gone, 'no such job');
            return;
          }
          if (stopped || finished) s.close();
          else sub = s;
        },
        (err: unknown) => {
          ctx.log.warn({ err }, 'subscribe failed');
          finish(1011, 'internal error');
        },
      );
  };
  subscribe();
}

type Open = (from: number, onEvent: (event: JobEvent) => void, onEnd: () => void) => Promise<Subscription | null>;

/**
 * NDJSON lines of a job's events. Reads are pulled by the HTTP response: when the buffer is full
 * (push returns false) the subscription is dropped, and `_read` resubscribes from the next seq,
 * so the service's event log, not this stream, holds what the reader has not taken yet. A reader
 * that takes nothing for `stallMs` while the buffer is full is cut off.
 */
class EventStream extends Readable {
  private nextSeq: number;
  private sub: Subscription | null = null;
  private active = false;
  private ended = false;
  private stall: NodeJS.Timeout | undefined;

  constructor(
    from: number,
    maxBuffer: number,
    private readonly stallMs: number,
    private readonly open: Open,
  ) {
    super({ highWaterMark: Math.max(16 * 1024, maxBuffer) });
    this.nextSeq = from;
  }

  override _read(): void {
    clearTimeout(this.stall);
    if (!this.active && !this.ended) this.subscribe();
  }

  private subscribe(): void {
    this.active = true;
    let stopped = false;
    let mine: Subscription | null = null;
    const stop = () => {
      stopped = true;
      this.active = false;
      mine?.close();
    };
    this.open(
      this.nextSeq,
      (event) => {
        if (stopped || this.ended || event.seq < this.nextSeq) return;
        this.nextSeq = event.seq + 1;
        const more = this.push(`${JSON.stringify(event)}\n`);
        if (event.type === 'done') {
          this.ended = true;
          this.push(null);
          stop();
        } else if (!more) {
          stop();
          this.stall = setTimeout(() => this.destroy(new Error('NDJSON reader stalled')), this.stallMs);
        }
      },
      () => {
        if (stopped || this.ended) return;
        this.ended = true;
        this.push(null);
      },
    ).then(
      (s) => {
        mine = s;
        if (s === null) {
          if (!this.ended) {
            this.ended = true;
            this.push(null);
          }
        } else if (stopped || this.destroyed) {
          s.close();
        } else {
          this.sub = s;
        }
      },
      (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.ended = true;
    clearTimeout(this.stall);
    this.sub?.close();
    cb(err);
  }
}
