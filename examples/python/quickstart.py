#!/usr/bin/env python3
"""Gradient Lab quick start with the gradient_lab package (standard library only).

Submits the textbook exploding-gradient preset (a deep linear net, W = 1.5·I, L = 10), follows its
events printing one line per step, then reads the result and prints a short table; then runs the
same net with gradient clipping and prints both summaries. Then runs the textbook sweep (gain ×
depth, without and with clip-norm), prints each cell as it ends, and prints the grid of outcomes:
the explosion boundary at gain = 1.

    python3 examples/python/quickstart.py [BASE_URL] [--no-sweep]

BASE_URL defaults to $GRADIENT_LAB_URL, then http://localhost:8080. When the server has API keys,
set GRADIENT_LAB_API_KEY. Exits non-zero on any failure. Uses the package from this repository
when it is not installed (`pip install ./clients/python` installs it).
"""

import math
import os
import sys

try:
    from gradient_lab import Client, GradientLabError
except ImportError:  # run from a checkout: use the package next door
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    from gradient_lab import Client, GradientLabError


def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)  # nan, inf, -inf: the client has restored them from "NaN", "Infinity", "-Infinity"
    return f"{x:.6g}"


def follow(client, spec):
    """Submits the spec and prints its events as they arrive; returns the job id, the number of
    step events and the done event."""
    job = client.submit(spec)
    print(f"job {job['id']}: {job['status']}")
    steps, done = 0, None
    for event in client.events(job["id"]):
        if event["type"] == "step":
            steps += 1
            # Per layer, the backward signal ‖∂L/∂z_l‖: it fans out by the gain per layer for W = gain·I.
            layers = " ".join(fmt(layer.get("backwardNorm", layer["gradNorm"])) for layer in event["layers"])
            print(
                f"step {event['step']:>5}  loss {fmt(event['loss']):>12}  "
                f"|g| {fmt(event['gradNorm']):>12}  clipped {fmt(event['clippedGradNorm']):>12}  |dL/dz_l| {layers}"
            )
        elif event["type"] == "nonfinite":
            print(f"step {event['step']:>5}  first non-finite value: {event['where']} = {event['value']}")
        elif event["type"] == "done":
            done = event
    if done["status"] != "succeeded":
        raise SystemExit(f"error: job ended {done['status']}: {done.get('error')}")
    return job["id"], steps, done


def describe(summary):
    """The summary's two verdicts: what the gradients did, what training achieved, and how much
    clipping acted (docs/verdicts.md)."""
    gradients, training = summary["gradients"], summary["training"]
    clipping = summary["mitigation"]["clipping"]
    clipped = f", clipped on {clipping['fraction']:.0%} of steps (by up to {fmt(clipping['maxFactor'])}x)" if clipping else ""
    return (
        f"gradients {gradients['verdict']} (backward gain {fmt(gradients['backwardGain'])}, "
        f"predicted gain^(L-1) {fmt(summary.get('predictedLayerGradFactor'))}){clipped}, "
        f"training {training['verdict']}"
    )


def table(frame, steps):
    """Prints a few columns of the result (frame: a dict of column name -> list)."""
    columns = list(frame)
    layer_norms = [c for c in columns if c.endswith(".backwardNorm")] or [c for c in columns if c.endswith(".gradNorm")]
    show = [c for c in ("step", "loss", "gradNorm", "clippedGradNorm") if c in columns]
    show += layer_norms[:1] + layer_norms[-1:] if len(layer_norms) > 1 else layer_norms
    print()
    print("  ".join(f"{c:>14}" for c in show))
    rows = list(range(steps))
    shown = rows if steps <= 10 else rows[:5] + [None] + rows[-5:]
    for i in shown:
        cells = ["..." if i is None else fmt(frame[c][i]) for c in show]
        print("  ".join(f"{cell:>14}" for cell in cells))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    # use_pandas=False: plain lists, so that this runs on the standard library alone.
    client = Client(args[0] if args else None, use_pandas=False)

    preset = client.preset("textbook-exploding")
    print(f"preset: {preset['id']} - {preset['title']}")
    job_id, steps, done = follow(client, preset["spec"])
    print(f"done: {describe(done['summary'])}")

    result = client.result(job_id)
    rows = len(result.frame["step"])
    if rows != steps:
        raise SystemExit(f"error: the result has {rows} rows but the stream had {steps} step events")
    table(result.frame, rows)
    print(f"\n{rows} rows x {len(result.frame)} columns from /v1/jobs/{job_id}/result")

    clipped = client.preset("textbook-exploding-clip-norm")
    result = client.run(clipped["spec"])
    print(f"\n{clipped['id']}: {len(result.frame['step'])} steps: {describe(result.summary)}")

    if "--no-sweep" not in sys.argv:
        sweep(client)


OUTCOME_MARK = {
    "exploding": "EXP",
    "vanishing": "van",
    "nonfinite": "NaN",
    "diverged": "DIV",
    "converged": "ok",
    "stable": "-",
}


def sweep(client):
    """The textbook sweep: one job per (gain, depth, mitigation) cell, all with the same seed."""
    preset = client.preset("sweep-textbook")
    started = client.sweep(preset["request"], wait=False)
    print(f"\nsweep {started.id}: {preset['title']}")
    cells = 0
    for event in client.sweep_events(started.id):
        if event["type"] == "cell":
            cells += 1
            c = event["cell"]
            print(f"cell {c['index']:>3}  {c['coords']}  {c['outcome']}  backward gain {fmt(c['backwardGain'])}")
        elif event["type"] == "done":
            print(f"sweep {event['status']}: {cells} cells")

    grid = client.sweep(id=started.id).frame  # a column per axis, then the cell's fields
    if len(grid["index"]) != cells:
        raise SystemExit(f"error: the sweep has {len(grid['index'])} cells but the stream had {cells} cell events")
    # The mitigations axis has labels: its values are in "mitigations", its labels in "mitigations.label".
    gain, depth, mitigations = "network.init.gain", "network.depth", "mitigations.label"
    gains = sorted(set(grid[gain]))
    depths = sorted(set(grid[depth]))
    for label in dict.fromkeys(grid[mitigations]):
        print(f"\noutcome by depth (rows) and gain (columns), mitigations = {label}")
        print("depth " + "".join(f"{g:>7g}" for g in gains))
        by = {
            (grid[depth][i], grid[gain][i]): grid["outcome"][i]
            for i in range(cells)
            if grid[mitigations][i] == label
        }
        for d in depths:
            print(f"{d:>5} " + "".join(f"{OUTCOME_MARK.get(by.get((d, g)), '?'):>7}" for g in gains))
    print(f"\n{cells} cells from /v1/sweeps/{started.id}")


if __name__ == "__main__":
    try:
        main()
    except GradientLabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
