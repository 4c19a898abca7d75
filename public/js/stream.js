// A job's event stream over the WebSocket that survives drops: it reconnects with
// from = lastSeq + 1, and delivers each seq exactly once and in order.

import { streamUrl } from './api.js';

const MAX_BACKOFF_MS = 5000;
// Consecutive connection attempts that deliver nothing before we give up and say so.
const MAX_FRUITLESS_ATTEMPTS = 8;

/**
 * Opens the stream of `jobId` from seq `from`. `onEvent(event)` gets every event once, in seq
 * order; `onState(state, detail)` gets 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed'.
 * Returns a handle with `close()`, `drop()` (closes the socket as a network failure would, so the
 * reconnect path runs) and `stats`.
 */
export function openStream(jobId, { from = 0, onEvent, onState = () => {} }) {
  let lastSeq = from - 1;
  let ws = null;
  let stopped = false;
  let finished = false;
  let fruitless = 0;
  let timer = null;
  const stats = { connects: 0, reconnects: 0, duplicates: 0, gaps: 0, lastCloseCode: null };

  function connect() {
    timer = null;
    if (stopped) return;
    stats.connects += 1;
    onState(stats.connects === 1 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(streamUrl(jobId, lastSeq + 1));
    ws = socket;
    let delivered = false;
    socket.addEventListener('open', () => {
      if (ws === socket) onState('open');
    });
    socket.addEventListener('message', (msg) => {
      if (ws !== socket) return;
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (!event || typeof event.seq !== 'number') {
        if (event?.type === 'error') onState('failed', event.message ?? event.detail ?? 'stream error');
        return;
      }
      if (event.seq <= lastSeq) {
        stats.duplicates += 1;
        return;
      }
      if (event.seq > lastSeq + 1) {
        // A hole would break "every step exactly once": resume from the first missing seq instead.
        stats.gaps += 1;
        socket.close(4000, 'gap');
        return;
      }
      delivered = true;
      fruitless = 0;
      lastSeq = event.seq;
      if (event.type === 'done') finished = true;
      onEvent(event);
    });
    socket.addEventListener('close', (ev) => {
      if (ws !== socket) return;
      stats.lastCloseCode = ev.code;
      ws = null;
      if (stopped || finished) {
        onState('closed', ev.code);
        return;
      }
      if (ev.code === 4404) {
        onState('failed', 'the job no longer exists');
        return;
      }
      if (!delivered) fruitless += 1;
      if (fruitless >= MAX_FRUITLESS_ATTEMPTS) {
        onState('failed', `the stream closed ${fruitless} times without delivering (last code ${ev.code})`);
        return;
      }
      stats.reconnects += 1;
      // 1013 means "you were too slow": the server has the events, come back at once.
      const delay = ev.code === 1013 || delivered ? 0 : Math.min(MAX_BACKOFF_MS, 200 * 2 ** fruitless);
      onState('reconnecting', ev.code);
      timer = setTimeout(connect, delay);
    });
  }

  connect();

  return {
    stats,
    get lastSeq() {
      return lastSeq;
    },
    get finished() {
      return finished;
    },
    /** Sends a message to the server (e.g. `{type: 'cancel'}`); false when not connected. */
    send(message) {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
    drop() {
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(4001, 'dropped by client');
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'client done');
      ws = null;
    },
  };
}
