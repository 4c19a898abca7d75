#!/usr/bin/env python3
"""Follow a job over the WebSocket with the `websockets` package, resuming after a disconnect.

    python3 examples/python/stream.py [BASE_URL] [JOB_ID] [--drop-after N]

Without JOB_ID it submits the textbook net with gradient clipping (the preset
textbook-exploding-clip-norm) and follows it. `--drop-after N` cuts the connection after every N
events, as a flaky network would, to show the resume: the follower reconnects with `from` = the
last seq it saw + 1, and the server sends each event exactly once across the connections.

Needs `websockets` (Debian: python3-websockets; pip: websockets). The function `follow` is the part
to copy; in a notebook, whose kernel already runs an event loop, use it directly in a cell:

    async for event in follow("ws://localhost:8080", job_id):
        ...

(`gradient_lab.Client.events` does the same from synchronous code, and falls back to NDJSON
without `websockets`.)
"""

import argparse
import asyncio
import json
import os
import sys

import websockets

try:
    from gradient_lab import Client
except ImportError:  # run from a checkout: use the package next door
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    from gradient_lab import Client


async def follow(ws_base, job_id, api_key=None, from_=0, drop_after=None):
    """Yields the job's events from seq `from_` to `done`, each once, reconnecting after a drop."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    next_seq = from_
    while True:
        try:
            async with websockets.connect(
                f"{ws_base}/v1/jobs/{job_id}/stream?from={next_seq}",
                extra_headers=headers,  # websockets >= 14: additional_headers=headers
                # max_queue=None: keep reading the socket however many events are waiting. With the
                # default (32), a client that stops reading — leaving the loop early, say — cannot
                # see the server's close frame behind the queued events, and closing then hangs
                # for the close timeout (30 s with websockets 10.4) before it gives up.
                max_queue=None,
            ) as ws:
                received = 0
                async for message in ws:
                    event = json.loads(message)
                    assert event["seq"] == next_seq, f"expected seq {next_seq}, got {event['seq']}"
                    next_seq = event["seq"] + 1
                    yield event
                    if event["type"] == "done":
                        return
                    received += 1
                    if drop_after and received == drop_after:
                        ws.transport.abort()  # the demo's network failure: no close handshake
        except (websockets.ConnectionClosedError, OSError) as err:
            # 1006 (the connection was lost), 1001 (the server is restarting) or 1013 (we read too
            # slowly): nothing is lost, ask for the rest.
            print(f"disconnected ({err}); resuming with from={next_seq}", flush=True)
            await asyncio.sleep(0.2)


def fmt(x):
    return x if isinstance(x, str) else f"{x:.6g}"  # "NaN", "Infinity" arrive as strings


async def main():
    parser = argparse.ArgumentParser(description="Follow a job over the WebSocket, resuming after drops.")
    parser.add_argument("url", nargs="?", help="default: $GRADIENT_LAB_URL, then http://localhost:8080")
    parser.add_argument("job_id", nargs="?", help="default: submit textbook-exploding-clip-norm")
    parser.add_argument("--drop-after", type=int, help="cut the connection after every N events")
    args = parser.parse_args()
    client = Client(args.url)
    job_id = args.job_id or client.submit(client.preset("textbook-exploding-clip-norm")["spec"])["id"]
    ws_base = client.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    print(f"following job {job_id} over {ws_base}", flush=True)

    seqs = []
    async for event in follow(ws_base, job_id, client.api_key, drop_after=args.drop_after):
        seqs.append(event["seq"])
        if event["type"] == "step":
            print(f"seq {event['seq']:>4}  step {event['step']:>5}  loss {fmt(event['loss']):>12}  |g| {fmt(event['gradNorm'])}")
        elif event["type"] == "nonfinite":
            print(f"seq {event['seq']:>4}  first non-finite value at step {event['step']}: {event['where']}")
        else:
            summary = event.get("summary") or {}
            verdicts = f"gradients {summary['gradients']['verdict']}, training {summary['training']['verdict']}" if summary else "no summary"
            print(f"seq {event['seq']:>4}  done: {event['status']}, {verdicts}")
    if seqs != list(range(len(seqs))):
        raise SystemExit("error: a seq was missed or repeated")
    print(f"{len(seqs)} events, seq 0..{seqs[-1]}, each exactly once")


if __name__ == "__main__":
    asyncio.run(main())
