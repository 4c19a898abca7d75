/**
 * Serving a resource's event log to a client, over a WebSocket or as NDJSON: replay from `from`,
 * then live, then `done`, then end. Jobs and sweeps both use it; each supplies a `StreamSource`.
 *
 * Memory per client is bounded. The source keeps the history and pushes events, so a slow reader
 * is never buffered for: when a WebSocket's send buffer passes `maxBuffer` (or an NDJSON
 * response's stream buffer is full) the subscription is dropped and taken up again from the next
 * seq once the reader drains; a reader that does not drain within `stallMs` is cut off (WebSocket
 * 1013, NDJSON ended) and reconnects with `from`.
 */
import { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { metrics } from './ops.js';

/** WebSocket close codes this server uses. */
export const WS_CLOSE = {
  done: 1000,
  /** Server shutting down, or the stream was interrupted before `done`: reconnect with `from`. */
  goingAway: 1001,
  /** The client read too slowly; reconnect with `from` = the last seq received + 1. */
  tryAgainLater: 1013,
  /** The resource disappeared (retention) while connected. */
  gone: 4404,
} as const;

const ClientMessage = z.object({ type: z.literal('cancel') });

export interface StreamEvent {
  seq: number;
  type: string;
}

export interface StreamSource<E extends StreamEvent> {
  /** What the stream is about, for close reasons ("no such job"). */
  noun: string;
  /** Events with seq ≥ from, in order, then onEnd; null when the resource is unknown. */
  subscribe(from: number, onEvent: (event: E) => void, onEnd: () => void): Promise<{ close(): void } | null>;
  /** Asked when a subscription ends without `done`: has the resource ended (nothing more will come)? */
  ended(): Promise<boolean>;
  /** A client's `{"type":"cancel"}`. */
  cancel(): Promise<unknown>;
}

export interface StreamLimits {
  maxBuffer: number;
  stallMs: number;
  pingMs: number;
}

interface Log {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Serves `source` on `socket` from seq `from`, until `done`, a close, a stall or shutdown. */
export function serveSocket<E extends StreamEvent>(
  socket: WebSocket,
  source: StreamSource<E>,
  from: number,
  limits: StreamLimits,
  log: Log,
): void {
  new SocketSession(socket, source, from, limits, log).start();
}

/** One client's WebSocket stream: where it is in the log, whether it is paused, and its timers. */
class SocketSession<E extends StreamEvent> {
  /** The subscription delivering events now; null while paused or before the first one is up. */
  private sub: { close(): void } | null = null;
  private finished = false;
  /** The socket's send buffer passed maxBuffer: unsubscribed until it drains. */
  private paused = false;
  private stall: NodeJS.Timeout | undefined;
  private ping: NodeJS.Timeout | undefined;
  /** The pong of the last ping came back. */
  private alive = true;
  private sawDone = false;
  private nextSeq: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly source: StreamSource<E>,
    from: number,
    private readonly limits: StreamLimits,
    private readonly log: Log,
  ) {
    this.nextSeq = from;
  }

  start(): void {
    const { socket } = this;
    metrics.wsClients.inc();
    // Attached before any await: a client may send cancel as its very first message.
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    socket.on('pong', () => {
      this.alive = true;
    });
    this.ping = setInterval(() => {
      if (!this.alive) {
        socket.terminate();
        return;
      }
      this.alive = false;
      socket.ping();
    }, this.limits.pingMs);
    this.ping.unref();
    socket.on('close', () => {
      clearInterval(this.ping);
      clearTimeout(this.stall);
      metrics.wsClients.dec();
      this.finished = true;
      this.sub?.close();
    });
    socket.on('error', (err) => this.log.warn({ err }, 'websocket error'));
    this.subscribe();
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!ClientMessage.safeParse(msg).success) return;
    this.source.cancel().catch((err: unknown) => {
      // Cancelling what has just ended is not a fault: the stream's `done` says how it ended.
      this.log.debug({ err }, `cancel over websocket refused (${this.source.noun})`);
    });
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stall);
    this.sub?.close();
    this.socket.close(code, reason);
  }

  private interrupted(): void {
    this.finish(WS_CLOSE.goingAway, `stream interrupted: reconnect with from=${this.nextSeq}`);
  }

  /** Subscribes from nextSeq; a pause drops this subscription and the drain makes a new one. */
  private subscribe(): void {
    let mine: { close(): void } | null = null;
    let stopped = false;
    const stop = () => {
      stopped = true;
      mine?.close();
    };
    this.source
      .subscribe(
        this.nextSeq,
        (event) => {
          if (this.finished || stopped || event.seq < this.nextSeq) return;
          this.nextSeq = event.seq + 1;
          const last = event.type === 'done';
          if (last) this.sawDone = true;
          this.socket.send(JSON.stringify(event), () => {
            // Each flushed message reports here; resume once the backlog behind it is small again.
            if (!this.paused || this.finished || last || this.socket.bufferedAmount > this.limits.maxBuffer / 2) return;
            this.paused = false;
            clearTimeout(this.stall);
            this.subscribe();
          });
          if (!last && this.socket.bufferedAmount > this.limits.maxBuffer) {
            this.paused = true;
            stop();
            this.stall = setTimeout(
              () => this.finish(WS_CLOSE.tryAgainLater, `slow consumer: reconnect with from=${this.nextSeq}`),
              this.limits.stallMs,
            );
          }
        },
        () => {
          if (stopped) return;
          if (this.sawDone) {
            this.finish(WS_CLOSE.done, 'done');
            return;
          }
          // Ended without `done`: either `from` was past the end of an ended resource (nothing to
          // send), or the service is shutting down or handed the work back to the queue.
          this.source.ended().then(
            (ended) => (ended ? this.finish(WS_CLOSE.done, 'done') : this.interrupted()),
            () => this.interrupted(),
          );
        },
      )
      .then(
        (s) => {
          mine = s;
          if (s === null) this.finish(WS_CLOSE.gone, `no such ${this.source.noun}`);
          else if (stopped || this.finished) s.close();
          else this.sub = s;
        },
        (err: unknown) => {
          this.log.warn({ err }, `subscribe failed (${this.source.noun})`);
          this.finish(1011, 'internal error');
        },
      );
  }
}

/**
 * NDJSON lines of an event log. Reads are pulled by the HTTP response: when the buffer is full
 * (push returns false) the subscription is dropped, and `_read` resubscribes from the next seq,
 * so the source's event log, not this stream, holds what the reader has not taken yet. A reader
 * that takes nothing for `stallMs` while the buffer is full is cut off.
 */
export class NdjsonStream<E extends StreamEvent> extends Readable {
  private nextSeq: number;
  private sub: { close(): void } | null = null;
  private active = false;
  private ended = false;
  private stall: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: StreamSource<E>,
    from: number,
    limits: Pick<StreamLimits, 'maxBuffer' | 'stallMs'>,
  ) {
    super({ highWaterMark: Math.max(16 * 1024, limits.maxBuffer) });
    this.nextSeq = from;
    this.stallMs = limits.stallMs;
  }

  private readonly stallMs: number;

  override _read(): void {
    clearTimeout(this.stall);
    if (!this.active && !this.ended) this.subscribe();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  private subscribe(): void {
    this.active = true;
    let stopped = false;
    let mine: { close(): void } | null = null;
    const stop = () => {
      stopped = true;
      this.active = false;
      mine?.close();
    };
    this.source
      .subscribe(
        this.nextSeq,
        (event) => {
          if (stopped || this.ended || event.seq < this.nextSeq) return;
          this.nextSeq = event.seq + 1;
          const more = this.push(`${JSON.stringify(event)}\n`);
          if (event.type === 'done') {
            this.end();
            stop();
          } else if (!more) {
            stop();
            this.stall = setTimeout(() => this.destroy(new Error('NDJSON reader stalled')), this.stallMs);
          }
        },
        () => {
          if (!stopped) this.end();
        },
      )
      .then(
        (s) => {
          mine = s;
          if (s === null) this.end();
          else if (stopped || this.destroyed) s.close();
          else this.sub = s;
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
