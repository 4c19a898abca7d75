"""gradient_lab against a live server: runs, sweeps, streams with resume, non-finite results in
pandas, and errors with their field paths."""

from __future__ import annotations

import csv
import io
import math
import time

import pandas as pd
import pytest

from gradient_lab import Client, GradientLabError

# The textbook net (W = 1.5·I, L = 10, 2×2) trained with SGD at lr 0.01: the loss overflows to
# Infinity at step 3 and the gradients become NaN (docs/presets.md). Written out rather than taken
# from the presets, so that it stays the same when a preset is retuned.
EXPLODES = {
    "name": "python client: textbook, non-finite",
    "seed": 1,
    "network": {
        "kind": "linear",
        "depth": 10,
        "width": 2,
        "bias": False,
        "init": {"scheme": "scaled-identity", "gain": 1.5},
    },
    "data": {"kind": "synthetic", "samples": 64},
    "training": {"steps": 200, "batchSize": 64, "learningRate": 0.01, "optimizer": "sgd"},
}


def clipped(steps: int = 300) -> dict:
    """The same net with clip-norm 1: it trains without blowing up."""
    spec = {**EXPLODES, "name": "python client: textbook, clipped"}
    spec["training"] = {**EXPLODES["training"], "steps": steps}
    spec["mitigations"] = [{"kind": "clip-norm", "maxNorm": 1.0}]
    return spec


def assert_same_table(frame: pd.DataFrame, csv_text: str) -> None:
    """The frame built from the JSON result holds, cell by cell, what the server's CSV says —
    "NaN", "Infinity" and "-Infinity" included."""
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert list(frame.columns) == list(rows[0].keys())
    assert len(frame) == len(rows)
    for i, row in enumerate(rows):
        for column, text in row.items():
            value = float(frame[column].iloc[i])
            if text == "NaN":
                assert math.isnan(value), (i, column)
            else:
                assert value == float(text), (i, column, value, text)  # float("Infinity") == inf


# --------------------------------------------------------------------------------------- runs


def test_run_submits_waits_and_returns_the_series_as_a_dataframe(client: Client) -> None:
    result = client.run(clipped())
    assert result.status == "succeeded"
    summary = result.summary
    assert summary["stepsRun"] == 300
    assert summary["firstNonFiniteStep"] is None
    # The clipped net trains: its final loss is a small fraction of the first.
    assert summary["finalLoss"] < 0.01 * summary["firstLoss"]
    # Two verdicts: the gradients explode (clipping does not change the backward signal), and
    # training converges (clipping bounds the updates).
    assert summary["gradients"]["verdict"] == "exploding"
    assert summary["training"]["verdict"] == "converged"
    # For W = g·I the backward signal grows by g per layer: ‖∂L/∂z_1‖/‖∂L/∂z_L‖ = 1.5^9.
    assert summary["gradients"]["backwardGain"] == pytest.approx(1.5**9, rel=1e-12)
    frame = result.frame
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["step"]) == list(range(1, 301))
    assert [c for c in frame.columns if c.endswith(".gradNorm")] == [f"W{k}.gradNorm" for k in range(1, 11)]
    # Per layer at step 1: equal weight gradients, and a backward signal 1.5 times the next layer's.
    first = frame.iloc[0]
    weight = [first[f"W{k}.gradNorm"] for k in range(1, 11)]
    signal = [first[f"W{k}.backwardNorm"] for k in range(1, 11)]
    assert weight == pytest.approx([weight[0]] * 10, rel=1e-12)
    assert [signal[k] / signal[k + 1] for k in range(9)] == pytest.approx([1.5] * 9, rel=1e-12)
    # How much clipping acted: on the steps whose norm exceeded maxNorm = 1, by up to that norm.
    clipping = summary["mitigation"]["clipping"]
    assert clipping["stepsClipped"] == int((frame["gradNorm"] > 1).sum()) > 0
    assert clipping["fraction"] == pytest.approx(clipping["stepsClipped"] / 300, rel=1e-15)
    assert clipping["maxFactor"] == pytest.approx(frame["gradNorm"].max(), rel=1e-9)
    # Clipping: the norm after clipping never exceeds maxNorm (to rounding), the raw norm does.
    assert (frame["clippedGradNorm"] <= 1.0 + 1e-12).all()
    assert frame["gradNorm"].iloc[0] > 1.0
    assert_same_table(frame, client.csv(result.id))
    # job() and wait() agree with the result's own job resource.
    assert client.job(result.id)["summary"] == summary
    assert client.wait(result.id)["status"] == "succeeded"
    # The step events carry the same per-layer numbers.
    steps = [e for e in client.events(result.id) if e["type"] == "step"]
    assert [layer["backwardNorm"] for layer in steps[0]["layers"]] == signal


def test_cancel_ends_a_running_job_and_a_second_cancel_is_a_409(client: Client) -> None:
    long = clipped(steps=1_000_000)
    long["record"] = {"every": 1000}
    job = client.submit(long)
    cancelled = client.cancel(job["id"])
    assert cancelled["id"] == job["id"]
    ended = client.wait(job["id"])
    assert ended["status"] == "cancelled"
    with pytest.raises(GradientLabError) as caught:
        client.cancel(job["id"])
    assert (caught.value.status, caught.value.code) == (409, "GL_ERR_JOB_ENDED")


def test_analysis_gives_the_exact_product(client: Client) -> None:
    analysis = client.analysis(EXPLODES["network"])
    # 1.5^10 = 57.6650390625 exactly in binary floating point, and so is the product of ten 1.5·I.
    assert analysis["product"]["matrix"] == [[57.6650390625, 0], [0, 57.6650390625]]


def test_presets_are_ready_specs(client: Client) -> None:
    catalog = client.presets()
    ids = [p["id"] for p in catalog["presets"]]
    assert "textbook-exploding" in ids
    assert client.preset("sweep-textbook")["request"]["axes"]
    variant = client.preset("textbook-exploding-clip-norm")
    assert variant["spec"]["mitigations"][0]["kind"] == "clip-norm"
    with pytest.raises(KeyError):
        client.preset("no-such-preset")


# ------------------------------------------------------------------------------------- sweeps


def test_sweep_runs_every_cell_and_matches_the_closed_form(client: Client) -> None:
    request = {
        "name": "python client: gain × depth",
        "base": {**EXPLODES, "training": {**EXPLODES["training"], "steps": 5}},
        "axes": [
            {"path": "network.init.gain", "values": [0.5, 1, 1.5]},
            {"path": "network.depth", "values": [2, 5]},
        ],
    }
    result = client.sweep(request)
    assert result.status == "succeeded"
    assert result.sweep["shape"] == [3, 2]
    frame = result.frame
    assert len(frame) == 6 and (frame["status"] == "succeeded").all()
    # Row-major: the last axis varies fastest.
    assert list(frame["network.init.gain"]) == [0.5, 0.5, 1, 1, 1.5, 1.5]
    assert list(frame["network.depth"]) == [2, 5, 2, 5, 2, 5]
    # W = g·I: the backward gain at step 1 is g^(L−1), measured and predicted.
    expected = frame["network.init.gain"] ** (frame["network.depth"] - 1)
    assert list(frame["backwardGain"]) == pytest.approx(list(expected), rel=1e-12)
    assert list(frame["predicted.layerGradFactor"]) == pytest.approx(list(expected), rel=1e-15)
    # The theory line of a gain axis on a scaled-identity net: gain = 1.
    assert [line["value"] for line in result.sweep["theory"]] == [1]
    # The same sweep read back by id, without waiting, and the server's CSV agree with the frame.
    again = client.sweep(id=result.id, wait=False)
    assert again.cells == result.cells
    from_csv = pd.read_csv(io.StringIO(client.sweep_csv(result.id)))
    assert list(from_csv["jobId"]) == list(frame["jobId"])
    assert list(from_csv["backwardGain"]) == list(frame["backwardGain"])
    # Each cell is an ordinary job.
    assert client.job(frame["jobId"].iloc[0])["status"] == "succeeded"


def test_sweep_events_give_one_cell_event_per_cell_then_done(client: Client) -> None:
    request = {
        "base": {**EXPLODES, "training": {**EXPLODES["training"], "steps": 3}},
        "axes": [{"path": "network.depth", "values": [1, 2, 3, 4]}],
    }
    sweep_id = client.sweep(request, wait=False).id
    events = list(client.sweep_events(sweep_id))
    assert [e["seq"] for e in events] == list(range(5))
    assert [e["type"] for e in events] == ["cell"] * 4 + ["done"]
    assert sorted(e["cell"]["index"] for e in events[:4]) == [0, 1, 2, 3]


# ------------------------------------------------------------------------------------ streams


@pytest.mark.parametrize("transport", ["websocket", "ndjson"])
def test_a_stream_cut_by_the_network_resumes_with_every_seq_once(client: Client, proxy, api_key, transport) -> None:
    job_id = client.run(clipped()).id
    reference = list(client.events(job_id, transport="ndjson"))
    assert [e["seq"] for e in reference] == list(range(len(reference)))
    assert reference[-1]["type"] == "done"

    # Through a proxy that cuts the first two connections after 20 kB and 45 kB: in the middle
    # of an event, with more to come.
    proxy.budgets = [20_000, 45_000]
    flaky = Client(proxy.url, api_key=api_key)
    events = list(flaky.events(job_id, transport=transport))

    seqs = [e["seq"] for e in events]
    assert seqs == list(range(len(reference))), "every seq exactly once, in order, no gap"
    assert events == reference
    # Three connections: the first from 0, each next one from the last seq it had received + 1.
    route = "stream" if transport == "websocket" else "events"
    assert len(proxy.requests) == 3, proxy.requests
    froms = [int(r.split("from=")[1].split()[0]) for r in proxy.requests]
    assert all(f"/v1/jobs/{job_id}/{route}?from=" in r for r in proxy.requests)
    assert froms[0] == 0 and 0 < froms[1] < froms[2] < len(reference)


@pytest.mark.parametrize("transport", ["websocket", "ndjson"])
def test_leaving_early_then_resuming_from_the_next_seq(client: Client, transport) -> None:
    job_id = client.run(clipped()).id
    first = []
    started = time.monotonic()
    for event in client.events(job_id, transport=transport):
        first.append(event)
        if len(first) == 10:
            break  # hundreds of unread events are queued behind this one
    # Leaving closes the connection at once: with websockets' default max_queue (32) the close
    # would wait for the close timeout (30 s with websockets 10.4), see gradient_lab/stream.py.
    assert time.monotonic() - started < 5
    rest = list(client.events(job_id, from_=first[-1]["seq"] + 1, transport=transport))
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(len(seqs)))
    assert rest[-1]["type"] == "done" and rest[-1]["summary"]["stepsRun"] == 300


def test_a_live_job_is_followed_to_done(client: Client) -> None:
    spec = clipped(steps=20_000)
    spec["record"] = {"every": 100}
    job = client.submit(spec)
    events = list(client.events(job["id"]))
    steps = [e for e in events if e["type"] == "step"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert steps[-1]["step"] == 20_000
    assert events[-1]["status"] == "succeeded"


# ---------------------------------------------------------------------------------- non-finite


def test_a_nonfinite_result_reads_into_pandas_with_nan_and_inf_in_place(client: Client) -> None:
    result = client.run(EXPLODES)
    summary = result.summary
    assert result.status == "succeeded"  # a simulation that blew up has still succeeded
    assert summary["firstNonFiniteStep"] == 3
    assert summary["nonFinite"]["step"] == 3
    assert (summary["gradients"]["verdict"], summary["training"]["verdict"]) == ("exploding", "nonfinite")
    assert summary["training"]["lossRatio"] == math.inf
    frame = result.frame
    last = frame.iloc[-1]
    assert last["step"] == 3
    assert last["loss"] == math.inf
    assert math.isnan(last["gradNorm"])
    assert any(v == math.inf for v in last.values) and any(math.isnan(v) for v in last.values)
    # Every value sits where the server's CSV has it, "NaN"/"Infinity" included.
    assert_same_table(frame, client.csv(result.id))
    # pandas reads the CSV to the same floats.
    from_csv = pd.read_csv(io.StringIO(client.csv(result.id)))
    pd.testing.assert_frame_equal(from_csv, frame, check_dtype=False)
    # The summary's numbers are floats too (maxGradNorm is NaN once the gradient is).
    assert isinstance(summary["maxGradNorm"], float)
    # The stream carries the first non-finite value as its own event, decoded.
    events = list(client.events(result.id))
    nonfinite = [e for e in events if e["type"] == "nonfinite"]
    assert len(nonfinite) == 1 and nonfinite[0]["step"] == 3
    assert isinstance(nonfinite[0]["value"], float) and not math.isfinite(nonfinite[0]["value"])


def test_without_pandas_the_tables_are_dicts_of_lists(url: str, api_key) -> None:
    plain = Client(url, api_key=api_key, use_pandas=False)
    result = plain.run(EXPLODES)
    assert isinstance(result.frame, dict)
    assert result.frame["step"] == [1, 2, 3]
    assert result.frame["loss"][2] == math.inf
    assert math.isnan(result.frame["gradNorm"][2])


# -------------------------------------------------------------------------------------- errors


def test_a_bad_spec_raises_with_the_field_path(client: Client) -> None:
    bad = {**EXPLODES, "network": {**EXPLODES["network"], "depth": 0}}
    bad["training"] = {**EXPLODES["training"], "learningRate": "fast"}
    with pytest.raises(GradientLabError) as caught:
        client.submit(bad)
    err = caught.value
    assert (err.status, err.code) == (400, "GL_ERR_VALIDATION")
    assert err.fields == ["network.depth", "training.learningRate"]
    assert "network.depth" in err.detail
    assert err.request_id
    assert "network.depth" in str(err)


def test_an_impossible_sweep_names_the_axis(client: Client) -> None:
    request = {"base": EXPLODES, "axes": [{"path": "network.init.gian", "values": [1, 2]}]}
    with pytest.raises(GradientLabError) as caught:
        client.sweep(request)
    assert (caught.value.status, caught.value.code) == (422, "GL_ERR_SWEEP_INVALID")
    assert caught.value.fields == ["axes.0.path"]


@pytest.mark.parametrize("transport", ["websocket", "ndjson"])
def test_an_unknown_job_is_a_404_on_every_route(client: Client, transport) -> None:
    for call in (lambda: client.job("nope"), lambda: client.result("nope"), lambda: list(client.events("nope", transport=transport))):
        with pytest.raises(GradientLabError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (404, "GL_ERR_JOB_NOT_FOUND")


def test_without_the_api_key_the_server_says_401(url: str, api_key) -> None:
    if not api_key:
        pytest.skip("the server under test has no API keys")
    with pytest.raises(GradientLabError) as caught:
        Client(url, api_key="").presets()
    assert (caught.value.status, caught.value.code) == (401, "GL_ERR_UNAUTHORIZED")


def test_an_unreachable_server_raises_the_same_type() -> None:
    with pytest.raises(GradientLabError) as caught:
        Client("http://127.0.0.1:9", timeout=5).presets()
    assert caught.value.status is None and "cannot reach" in caught.value.detail
