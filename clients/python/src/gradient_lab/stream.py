"""Following a job's (or a sweep's) events, with resume.

The server sends every event from ``?from=seq`` on, in order and exactly once, then goes live, then
sends ``done`` and ends (docs/api.md, "Streaming events"). A follower that loses its connection —
the network drops, the server restarts, or it closes a slow reader with 1013 — reconnects with
``from`` = the last seq it saw + 1, so the caller sees every event once and in order.

Two transports, the same events:

- WebSocket (``GET …/stream``), when the ``websockets`` package is installed;
- NDJSON over plain HTTP (``GET …/events``, standard library only) otherwise, or on request.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
import urllib.error
from contextlib import closing
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

from .errors import GradientLabError
from .tables import decode

if TYPE_CHECKING:
    from .client import Client

# Statuses worth reconnecting after (the server is busy or restarting); others are the caller's.
_RETRY_STATUS = frozenset({429, 502, 503, 504})
# WebSocket close codes: 1000 after done; 1001 server shutting down; 1013 the reader was too slow;
# 4404 the job or sweep was deleted meanwhile (docs/api.md).
_WS_DELETED = 4404


class _Dropped(Exception):
    """The connection ended before ``done``: reconnect with ``from`` = last seq + 1."""


def have_websockets() -> bool:
    try:
        import websockets  # noqa: F401
    except ImportError:
        return False
    return True


def follow(
    client: "Client",
    resource: str,
    ident: str,
    from_: int = 0,
    transport: Optional[str] = None,
    retries: int = 5,
) -> Iterator[Dict[str, Any]]:
    """Yields the events of ``/v1/<resource>/<ident>`` from seq ``from_`` to ``done``, each once.

    ``transport``: "websocket", "ndjson", or None (the WebSocket when ``websockets`` is installed).
    ``retries``: reconnections allowed in a row without receiving an event; then GradientLabError.
    """
    if transport is None:
        transport = "websocket" if have_websockets() else "ndjson"
    if transport not in ("websocket", "ndjson"):
        raise ValueError(f"transport must be 'websocket' or 'ndjson', not {transport!r}")
    path = f"/v1/{resource}/{ident}"
    next_seq = int(from_)
    failures = 0
    loop = _Loop() if transport == "websocket" else None
    try:
        while True:
            opener = _ws_events(client, path, next_seq, loop) if loop else _ndjson_events(client, path, next_seq)
            try:
                with closing(opener) as events:
                    for event in events:
                        seq = event.get("seq")
                        if not isinstance(seq, int) or seq < next_seq:
                            continue  # never hand the caller an event twice
                        if seq > next_seq:
                            raise GradientLabError(
                                f"the stream skipped from seq {next_seq} to {seq}", method="GET", path=path
                            )
                        next_seq = seq + 1
                        failures = 0
                        yield decode(event)
                        if event.get("type") == "done":
                            return
                raise _Dropped("the stream ended without a done event")
            except _Dropped as dropped:
                failures += 1
                if failures > retries:
                    raise GradientLabError(
                        f"the event stream dropped {failures} times in a row without progress "
                        f"(last: {dropped}); resume with from={next_seq}",
                        method="GET",
                        path=path,
                    ) from None
                time.sleep(min(0.1 * 2 ** (failures - 1), 5.0))
    finally:
        if loop is not None:
            loop.stop()


# ----------------------------------------------------------------------------------- NDJSON


def _ndjson_events(client: "Client", path: str, from_: int) -> Iterator[Dict[str, Any]]:
    try:
        response = client._open("GET", f"{path}/events?from={from_}", accept="application/x-ndjson")
    except GradientLabError as err:
        if err.status is None or err.status in _RETRY_STATUS:
            raise _Dropped(err.detail) from None
        raise
    try:
        while True:
            try:
                line = response.readline()
            except (OSError, http.client.HTTPException, socket.timeout) as err:
                raise _Dropped(f"connection lost: {err!r}") from None
            if not line:
                return  # the response ended; follow() decides whether that was after done
            if not line.endswith(b"\n"):
                raise _Dropped("connection lost in the middle of a line")
            line = line.strip()
            if line:
                yield json.loads(line)
    finally:
        response.close()


# ---------------------------------------------------------------------------------- WebSocket


class _Loop:
    """An asyncio event loop on its own thread. The generator API is synchronous and must work
    inside Jupyter, whose thread already runs a loop (so asyncio.run() is not allowed there)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="gradient-lab-ws", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: Optional[float] = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def ws_connect_options(headers: Dict[str, str], close_timeout: float = 10.0) -> Dict[str, Any]:
    """Keyword arguments for ``websockets.connect`` (10.4 as in Debian 12, and later).

    ``max_queue=None`` matters. By default ``websockets`` buffers at most 32 received messages and
    then stops reading the socket until the application takes one. A client that leaves early
    (``break`` out of the loop, then close) with 32 unread events queued never reads the server's
    close frame, so ``close()`` waits out the close timeout (three times ``close_timeout`` with
    websockets 10.4: 30 s with its default) before it gives up: the program hangs.
    With ``max_queue=None`` the library keeps reading, sees the close frame at once and ``close()``
    returns promptly. The events of one job are bounded by the server's job budget, so the
    unbounded queue is bounded in practice.
    """
    import websockets

    major = int(str(getattr(websockets, "__version__", "10")).split(".")[0])
    # websockets 14 made the new asyncio client the default, which names the argument differently.
    header_arg = "additional_headers" if major >= 14 else "extra_headers"
    return {
        header_arg: headers,
        "max_queue": None,
        "max_size": 2**24,
        "open_timeout": 30,
        "close_timeout": close_timeout,
    }


def _ws_url(base: str) -> str:
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def _status_of(err: BaseException) -> Optional[int]:
    """The HTTP status of a refused upgrade (websockets 10: InvalidStatusCode; 14: InvalidStatus)."""
    status = getattr(err, "status_code", None)
    if status is None:
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


async def _connect(url: str, options: Dict[str, Any]) -> Any:
    import websockets

    return await websockets.connect(url, **options)


def _ws_events(client: "Client", path: str, from_: int, loop: _Loop) -> Iterator[Dict[str, Any]]:
    import websockets

    url = _ws_url(client.url) + f"{path}/stream?from={from_}"
    try:
        ws = loop.run(_connect(url, ws_connect_options(client._auth_headers())))
    except websockets.exceptions.InvalidHandshake as err:
        status = _status_of(err)
        if status is None or status in _RETRY_STATUS:
            raise _Dropped(f"upgrade refused: {err}") from None
        # The upgrade answer's body is not exposed by websockets 10: ask the NDJSON route, which
        # answers the same problem+json (404 no such job, 401 no key, …) and raises it.
        client._open("GET", f"{path}/events?from={from_}", accept="application/x-ndjson").close()
        raise GradientLabError(f"WebSocket upgrade refused ({status})", status=status, method="GET", path=path)
    except (OSError, asyncio.TimeoutError, urllib.error.URLError) as err:
        raise _Dropped(f"cannot connect: {err!r}") from None
    try:
        while True:
            try:
                message = loop.run(ws.recv())
            except websockets.exceptions.ConnectionClosed as closed:
                code = getattr(closed.rcvd, "code", None)
                if code == _WS_DELETED:
                    raise GradientLabError(
                        f"{path} was deleted while it was being followed", status=404, method="GET", path=path
                    ) from None
                if code == 1000:
                    return  # a normal close: follow() checks that done came before it
                raise _Dropped(f"connection closed ({code}: {getattr(closed.rcvd, 'reason', '')})") from None
            yield json.loads(message)
    finally:
        # Prompt even when the caller leaves early with unread events queued: see max_queue above.
        loop.run(ws.close())
