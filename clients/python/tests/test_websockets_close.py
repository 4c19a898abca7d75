"""Why gradient_lab (and examples/python/stream.py, docs/api.md) connect with max_queue=None.

websockets keeps at most ``max_queue`` (default 32) received messages, then stops reading the
socket. A client that leaves early with more events than that queued cannot read the server's
close frame behind them, so leaving the ``async with`` block waits out the close timeout: three
times ``close_timeout`` with websockets 10.4 (30 s with its default of 10 s). Shown here with a
short close_timeout, on a job whose 301 events the server sends at once.
"""

from __future__ import annotations

import asyncio
import time

import pytest

websockets = pytest.importorskip("websockets")

from gradient_lab import Client  # noqa: E402
from gradient_lab.stream import ws_connect_options  # noqa: E402

CLOSE_TIMEOUT = 1.0


def seconds_to_leave_early(client: Client, job_id: str, **options) -> float:
    async def leave() -> float:
        url = client.url.replace("http://", "ws://", 1) + f"/v1/jobs/{job_id}/stream?from=0"
        headers = {"Authorization": f"Bearer {client.api_key}"} if client.api_key else {}
        async with websockets.connect(url, extra_headers=headers, close_timeout=CLOSE_TIMEOUT, **options) as ws:
            for _ in range(3):
                await ws.recv()
            await asyncio.sleep(0.3)  # the rest of the events arrive meanwhile, unread
            started = time.monotonic()
        return time.monotonic() - started

    return asyncio.run(leave())


def test_leaving_early_waits_out_the_close_timeout_unless_max_queue_is_none(client: Client) -> None:
    if int(websockets.__version__.split(".")[0]) >= 14:
        pytest.skip("websockets >= 14 has a different client; this pins Debian's 10.4 (the one CI installs)")
    spec = client.preset("textbook-exploding-clip-norm")["spec"]
    spec = {**spec, "training": {**spec["training"], "steps": 300}}
    job_id = client.run(spec).id
    assert seconds_to_leave_early(client, job_id) >= 2 * CLOSE_TIMEOUT  # 3 × close_timeout in 10.4
    assert seconds_to_leave_early(client, job_id, max_queue=None) < CLOSE_TIMEOUT
    assert ws_connect_options({})["max_queue"] is None  # what gradient_lab passes
