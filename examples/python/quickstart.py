#!/usr/bin/env python3
"""Gradient Lab quick start, standard library only.

Submits the textbook exploding-gradient preset (a deep linear net, W = 1.5·I, L = 10), follows its
events as NDJSON printing one line per step, then reads the result as CSV and prints a short table.
Then runs the textbook sweep (gain × depth, without and with clip-norm), prints each cell as it
ends, and prints the grid of outcomes from the sweep's CSV: the explosion boundary at gain = 1.

    python3 examples/python/quickstart.py [BASE_URL] [--no-sweep]

BASE_URL defaults to $GRADIENT_LAB_URL, then http://localhost:8080. When the server has API keys,
set GRADIENT_LAB_API_KEY. Exits non-zero on any failure.
"""

import csv
import io
import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 60


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self, base, api_key=None):
        self.base = base.rstrip("/")
        self.headers = {"accept": "application/json"}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"

    def open(self, method, path, body=None, accept=None):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if accept:
            headers["accept"] = accept
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT_S)
        except urllib.error.HTTPError as err:
            # Errors are application/problem+json: show the server's own explanation.
            detail = err.read().decode(errors="replace")
            fail(f"{method} {path} -> {err.code}: {detail}")
        except urllib.error.URLError as err:
            fail(f"{method} {path}: cannot reach {self.base} ({err.reason})")

    def json(self, method, path, body=None):
        with self.open(method, path, body) as response:
            return json.load(response)


def as_list(payload, *keys):
    """Lists may come bare or wrapped in an object (e.g. {"items": [...]})."""
    if isinstance(payload, list):
        return payload
    for key in keys:
        if isinstance(payload, dict) and isinstance(payload.get(key), list):
            return payload[key]
    fail(f"unexpected response shape: {str(payload)[:200]}")


def pick_explode_preset(presets):
    def is_textbook_explode(p):
        spec = p.get("spec", {})
        init = spec.get("network", {}).get("init", {})
        return (
            p.get("phenomenon") == "exploding"
            and spec.get("network", {}).get("kind") == "linear"
            and init.get("scheme") == "scaled-identity"
        )

    for preset in presets:
        if is_textbook_explode(preset):
            return preset
    for preset in presets:
        if "explod" in preset.get("id", ""):
            return preset
    fail("the server lists no exploding-gradient preset")


def fmt(x):
    if isinstance(x, str):
        return x  # "NaN", "Infinity", "-Infinity": JSON cannot carry them as numbers
    return f"{x:.6g}"


def cell(text):
    """A CSV cell for the table: numbers to 6 significant digits, the rest as they are."""
    if text in ("NaN", "Infinity", "-Infinity"):
        return text
    try:
        return fmt(float(text))
    except ValueError:
        return text


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    base = args[0] if args else os.environ.get("GRADIENT_LAB_URL", "http://localhost:8080")
    client = Client(base, os.environ.get("GRADIENT_LAB_API_KEY"))

    catalog = client.json("GET", "/v1/presets")
    presets = as_list(catalog, "items", "presets")
    preset = pick_explode_preset(presets)
    print(f"preset: {preset['id']} - {preset.get('title', '')}")

    job = client.json("POST", "/v1/jobs", preset["spec"])
    job_id = job["id"]
    print(f"job {job_id}: {job['status']}")

    steps = 0
    done = None
    with client.open("GET", f"/v1/jobs/{job_id}/events?from=0", accept="application/x-ndjson") as stream:
        for raw in stream:
            line = raw.decode().strip()
            if not line:
                continue
            event = json.loads(line)
            if event["type"] == "step":
                steps += 1
                layers = " ".join(fmt(layer["gradNorm"]) for layer in event["layers"])
                print(
                    f"step {event['step']:>5}  loss {fmt(event['loss']):>12}  "
                    f"|g| {fmt(event['gradNorm']):>12}  clipped {fmt(event['clippedGradNorm']):>12}  layers {layers}"
                )
            elif event["type"] == "nonfinite":
                print(f"step {event['step']:>5}  first non-finite value: {event['where']} = {event['value']}")
            elif event["type"] == "done":
                done = event
                break
    if done is None:
        fail("the event stream ended without a done event")
    if done["status"] != "succeeded":
        fail(f"job ended {done['status']}: {done.get('error')}")
    summary = done["summary"] or {}
    print(
        f"done: outcome {summary.get('outcome')}, backward gain {fmt(summary.get('backwardGain'))}, "
        f"predicted gain^(L-1) {fmt(summary.get('predictedLayerGradFactor'))}"
    )

    with client.open("GET", f"/v1/jobs/{job_id}/result?format=csv", accept="text/csv") as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    if len(rows) != steps:
        fail(f"the CSV has {len(rows)} rows but the stream had {steps} step events")
    columns = list(rows[0].keys())
    # Columns: step, loss, gradNorm, clippedGradNorm, lr, paramNorm, then W1.gradNorm, W1.weightNorm, ...
    layer_norms = [c for c in columns if c.endswith(".gradNorm")]
    show = [c for c in ("step", "loss", "gradNorm", "clippedGradNorm") if c in columns]
    show += layer_norms[:1] + layer_norms[-1:] if len(layer_norms) > 1 else layer_norms
    print()
    print("  ".join(f"{c:>14}" for c in show))
    table = rows if len(rows) <= 10 else rows[:5] + [{c: "..." for c in show}] + rows[-5:]
    for row in table:
        print("  ".join(f"{cell(row[c]):>14}" for c in show))
    print(f"\n{len(rows)} rows x {len(columns)} columns from /v1/jobs/{job_id}/result?format=csv")

    if "--no-sweep" not in sys.argv:
        sweep(client, catalog)


OUTCOME_MARK = {
    "exploding": "EXP",
    "vanishing": "van",
    "nonfinite": "NaN",
    "diverged": "DIV",
    "converged": "ok",
    "stable": "-",
}


def sweep(client, catalog):
    """The textbook sweep: one job per (gain, depth, mitigation) cell, all with the same seed."""
    sweeps = catalog.get("sweeps", []) if isinstance(catalog, dict) else []
    preset = next((p for p in sweeps if p.get("id") == "sweep-textbook"), None)
    if preset is None:
        fail("the server lists no sweep-textbook preset")
    created = client.json("POST", "/v1/sweeps", preset["request"])
    sweep_id = created["id"]
    print(f"\nsweep {sweep_id}: {preset['title']}")

    cells = 0
    with client.open("GET", f"/v1/sweeps/{sweep_id}/events?from=0", accept="application/x-ndjson") as stream:
        for raw in stream:
            line = raw.decode().strip()
            if not line:
                continue
            event = json.loads(line)
            if event["type"] == "cell":
                cells += 1
                c = event["cell"]
                print(f"cell {c['index']:>3}  {c.get('coords')}  {c.get('outcome')}  backward gain {fmt(c.get('backwardGain'))}")
            elif event["type"] == "done":
                print(f"sweep {event['status']}: {cells} cells")
                break

    with client.open("GET", f"/v1/sweeps/{sweep_id}?format=csv", accept="text/csv") as response:
        reader = csv.DictReader(io.StringIO(response.read().decode()))
        rows = list(reader)
    axes = reader.fieldnames[: reader.fieldnames.index("index")]  # the axis columns come first
    if len(rows) != cells:
        fail(f"the sweep CSV has {len(rows)} rows but the stream had {cells} cell events")
    gain, depth = "network.init.gain", "network.depth"
    if gain not in axes or depth not in axes:
        fail(f"unexpected sweep axes: {axes}")
    # A labelled axis has its values in its own column and its labels in "<path>.label": group by the label.
    others = [a for a in axes if a not in (gain, depth) and f"{a}.label" not in axes]
    gains = sorted({float(r[gain]) for r in rows})
    depths = sorted({int(float(r[depth])) for r in rows})
    groups = sorted({tuple(r[a] for a in others) for r in rows})
    for group in groups:
        label = ", ".join(f"{a} = {v}" for a, v in zip(others, group)) or "all cells"
        print(f"\noutcome by depth (rows) and gain (columns), {label}")
        print("depth " + "".join(f"{g:>7g}" for g in gains))
        by = {(int(float(r[depth])), float(r[gain])): r for r in rows if tuple(r[a] for a in others) == group}
        for d in depths:
            marks = [OUTCOME_MARK.get(by[(d, g)]["outcome"], "?") if (d, g) in by else "" for g in gains]
            print(f"{d:>5} " + "".join(f"{m:>7}" for m in marks))
    print(f"\n{len(rows)} cells from /v1/sweeps/{sweep_id}?format=csv")


if __name__ == "__main__":
    main()
