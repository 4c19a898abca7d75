/**
 * Cancellation across processes (docs/scaling.md): an API process marks a job cancelled in Redis
 * and announces it; the worker process running the job hears it and sets the job's stop flag.
 *
 *   cancel(id)   SET <prefix>cancel:<id> PX ttl, then PUBLISH <prefix>cancel <id>
 *   watch(id)    registers the job's handler, *then* checks the key
 *
 * The order makes the pair race-free: the worker's subscription is live before any job is watched,
 * so a cancel published after `watch` registered reaches the handler, and a cancel issued before it
 * had already set the key, which the check then sees (a queued job cancelled never starts). A
 * message lost while Redis was unreachable is caught by a backstop: the keys of every watched job
 * are polled every `pollMs`.
 */
import type { Redis } from 'ioredis';

export interface CancelBusOptions {
  prefix: string;
  /** How long a cancellation mark lives (ms): longer than any job may wait in the queue. */
  markTtlMs?: number;
  /** Backstop poll of watched jobs' marks (ms). */
  pollMs?: number;
}

export interface Watch {
  /** The job was cancelled before it was watched: do not start it. */
  cancelled: boolean;
  /** Stops watching (the job ended). */
  stop(): void;
}

export class CancelBus {
  private readonly handlers = new Map<string, () => void>();
  private readonly channel: string;
  private readonly markTtlMs: number;
  private readonly poll: NodeJS.Timeout;
  private subscribed: Promise<unknown> | null = null;

  /**
   * @param redis  commands.
   * @param subscriber  a connection of its own, in subscriber mode from `start` on.
   */
  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: CancelBusOptions,
  ) {
    this.channel = `${options.prefix}cancel`;
    this.markTtlMs = options.markTtlMs ?? 7 * 24 * 3600 * 1000;
    this.subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.channel) this.fire(id);
    });
    this.poll = setInterval(() => void this.backstop(), options.pollMs ?? 1000);
    this.poll.unref();
  }

  private key(id: string): string {
    return `${this.options.prefix}cancel:${id}`;
  }

  /** Subscribes (once); a worker process awaits it before it watches any job. */
  start(): Promise<unknown> {
    this.subscribed ??= this.subscriber.subscribe(this.channel);
    return this.subscribed;
  }

  /** Marks a job cancelled and tells every worker process. */
  async cancel(id: string): Promise<void> {
    await this.redis.set(this.key(id), '1', 'PX', this.markTtlMs);
    await this.redis.publish(this.channel, id);
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key(id))) === 1;
  }

  /** Calls `onCancel` (once) when the job is cancelled, from now until `stop`. */
  async watch(id: string, onCancel: () => void): Promise<Watch> {
    await this.start();
    let fired = false;
    const handler = () => {
      if (fired) return;
      fired = true;
      this.handlers.delete(id);
      onCancel();
    };
    this.handlers.set(id, handler);
    const stop = () => {
      if (this.handlers.get(id) === handler) this.handlers.delete(id);
    };
    if (await this.isCancelled(id)) {
      stop();
      return { cancelled: true, stop };
    }
    return { cancelled: false, stop };
  }

  /** Jobs watched now. */
  get watching(): number {
    return this.handlers.size;
  }

  close(): void {
    clearInterval(this.poll);
    this.handlers.clear();
  }

  private fire(id: string): void {
    this.handlers.get(id)?.();
  }

  private async backstop(): Promise<void> {
    const ids = [...this.handlers.keys()];
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.key(id));
    const replies = await pipeline.exec().catch(() => null);
    if (!replies) return;
    ids.forEach((id, i) => {
      if (replies[i]?.[0] === null && replies[i]?.[1] === 1) this.fire(id);
    });
  }
}
