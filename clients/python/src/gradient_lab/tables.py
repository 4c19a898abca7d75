"""Numbers and tables.

JSON cannot carry NaN or ±Infinity, so the server sends non-finite numbers as the strings "NaN",
"Infinity" and "-Infinity" (docs/api.md). ``decode`` turns them back into floats everywhere a number
is expected; free-text and user-given fields (names, titles, the submitted spec, …) are left alone,
so a job named "NaN" keeps its name.

``job_frame`` and ``sweep_frame`` lay a result out as a table: a pandas DataFrame when pandas is
installed, otherwise a plain dict of column name → list (the same columns, in the same order).
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Keys whose values are text or what the user submitted, never telemetry: not decoded.
_VERBATIM = frozenset(
    {
        "name",
        "title",
        "description",
        "detail",
        "error",
        "where",
        "label",
        "labels",
        "message",
        "path",
        "links",
        "id",
        "jobId",
        "spec",
        "base",
        "request",
        "axes",
        "coords",
        "errors",
    }
)


def decode(value: Any) -> Any:
    """Returns ``value`` with every "NaN"/"Infinity"/"-Infinity" number restored to a float."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in _VERBATIM else decode(v)) for k, v in value.items()}
    return value


def have_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _table(columns: Dict[str, List[Any]], use_pandas: bool):
    if not use_pandas:
        return columns
    import pandas as pd

    return pd.DataFrame(columns)


def job_columns(series: Dict[str, Any]) -> Dict[str, List[Any]]:
    """A decoded columnar series as CSV-like columns: step, loss, gradNorm, clippedGradNorm, lr,
    paramNorm, then ``<layer>.<quantity>`` for every per-layer series (W1.gradNorm,
    W1.backwardNorm where recorded, W1.weightNorm, W1.updateRatio, then anything newer)."""
    columns: Dict[str, List[Any]] = {"step": list(series["steps"])}
    for key in ("loss", "gradNorm", "clippedGradNorm", "lr", "paramNorm"):
        if key in series:
            columns[key] = [float(x) for x in series[key]]
    for layer in series.get("layers", []):
        # The CSV's order first, then anything newer the server records per layer.
        keys = [k for k in _LAYER_ORDER if k in layer] + [k for k in layer if k not in _LAYER_ORDER]
        for key in keys:
            values = layer[key]
            if key == "name" or not isinstance(values, list):
                continue
            columns[f"{layer['name']}.{key}"] = [float(x) for x in values]
    return columns


# Per-layer columns in the order of the server's CSV (src/http/csv.ts).
_LAYER_ORDER = ("gradNorm", "backwardNorm", "weightNorm", "updateRatio")


def job_frame(series: Dict[str, Any], use_pandas: bool):
    """One row per recorded step (a DataFrame, or a dict of lists without pandas)."""
    return _table(job_columns(series), use_pandas)


def _axis_label(axis: Dict[str, Any], value: Any) -> Any:
    for candidate, label in zip(axis.get("values", []), axis.get("labels") or []):
        if candidate == value:
            return label
    return None


def _axis_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def sweep_columns(sweep: Dict[str, Any], cells: List[Dict[str, Any]]) -> Dict[str, List[Any]]:
    """One row per cell: a column per axis (named by its path, holding the value; JSON text for
    lists and objects) and ``<path>.label`` beside it when the axis has labels, as in the server's
    CSV, then index, jobId, status, outcome, the measurements and ``predicted.<name>``."""
    axes = sweep.get("axes", [])
    ordered = sorted(cells, key=lambda c: c["index"])
    columns: Dict[str, List[Any]] = {}
    for i, axis in enumerate(axes):
        columns[axis["path"]] = [_axis_value(c["coords"][i]) for c in ordered]
        if isinstance(axis.get("labels"), list):
            columns[f"{axis['path']}.label"] = [_axis_label(axis, c["coords"][i]) for c in ordered]
    skip = {"coords", "predicted"}
    keys: List[str] = []
    for cell in ordered:
        for key in cell:
            if key not in skip and key not in keys:
                keys.append(key)
    for key in keys:
        values = [cell.get(key) for cell in ordered]
        if all(v is None or isinstance(v, (int, float)) for v in values) and any(isinstance(v, float) for v in values):
            values = [math.nan if v is None else float(v) for v in values]
        columns[key] = values
    predicted: List[str] = []
    for cell in ordered:
        for key in cell.get("predicted") or {}:
            if key not in predicted:
                predicted.append(key)
    for key in predicted:
        values = [(cell.get("predicted") or {}).get(key) for cell in ordered]
        columns[f"predicted.{key}"] = [math.nan if v is None else float(v) for v in values]
    return columns


def sweep_frame(sweep: Dict[str, Any], cells: List[Dict[str, Any]], use_pandas: bool):
    """One row per cell (a DataFrame, or a dict of lists without pandas)."""
    return _table(sweep_columns(sweep, cells), use_pandas)
