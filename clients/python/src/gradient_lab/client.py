"""The Gradient Lab client: jobs, results, sweeps, analysis and event streams over HTTP.

Standard library only; pandas (tables) and websockets (streaming) are used when installed.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Union

from .errors import GradientLabError
from .stream import follow
from .tables import decode, have_pandas, job_frame, sweep_frame

DEFAULT_URL = "http://localhost:8080"
ENDED = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class Result:
    """A job's result: the job resource, its summary and its series.

    ``series`` is the server's columnar series with non-finite numbers restored to floats.
    ``frame`` has one row per recorded step and the CSV's columns (step, loss, gradNorm,
    clippedGradNorm, lr, paramNorm, W1.gradNorm, W1.weightNorm, …): a pandas DataFrame when pandas
    is installed, else a dict of column name → list.
    """

    job: Dict[str, Any]
    summary: Optional[Dict[str, Any]]
    series: Dict[str, Any]
    frame: Any = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.job["id"])

    @property
    def status(self) -> str:
        return str(self.job["status"])


@dataclass
class SweepResult:
    """A sweep: the resource (status, axes, shape, theory lines, progress), its cells, and
    ``frame``: one row per cell, a column per axis (named by its path) then the cell's fields and
    ``predicted.*`` (a DataFrame with pandas, else a dict of column name → list)."""

    sweep: Dict[str, Any]
    cells: List[Dict[str, Any]]
    frame: Any = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.sweep["id"])

    @property
    def status(self) -> str:
        return str(self.sweep["status"])


class Client:
    """A client for one Gradient Lab server.

    ``url`` defaults to $GRADIENT_LAB_URL, then http://localhost:8080; ``api_key`` to
    $GRADIENT_LAB_API_KEY (sent as ``Authorization: Bearer <key>``). ``use_pandas``: tables as
    DataFrames (default: when pandas is installed). ``transport`` for streams: "websocket",
    "ndjson", or None (the WebSocket when ``websockets`` is installed).

    Every error the server answers with is raised as :class:`GradientLabError`.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = 60.0,
        use_pandas: Optional[bool] = None,
        transport: Optional[str] = None,
    ) -> None:
        self.url = (url or os.environ.get("GRADIENT_LAB_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else (os.environ.get("GRADIENT_LAB_API_KEY") or None)
        self.timeout = timeout
        self.use_pandas = have_pandas() if use_pandas is None else bool(use_pandas)
        self.transport = transport

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # ------------------------------------------------------------------------------ plumbing

    def _auth_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _open(
        self,
        method: str,
        path: str,
        body: Any = None,
        accept: str = "application/json",
        timeout: Optional[float] = None,
    ):
        """Sends one request; returns the open response, or raises GradientLabError."""
        headers = {"Accept": accept, **self._auth_headers()}
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            with err:
                raw = err.read()
            raise GradientLabError.from_response(
                err.code, raw, err.headers.get("content-type", ""), method, path
            ) from None
        except (urllib.error.URLError, OSError, socket.timeout) as err:
            reason = getattr(err, "reason", err)
            raise GradientLabError(f"cannot reach {self.url} ({reason})", method=method, path=path) from None

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        with self._open(method, path, body) as response:
            return json.load(response)

    def _text(self, path: str, accept: str) -> str:
        with self._open("GET", path, accept=accept) as response:
            return response.read().decode("utf-8")

    # ------------------------------------------------------------------------------ catalogue

    def presets(self) -> Dict[str, Any]:
        """The textbook scenarios: ``{"presets": [...], "sweeps": [...]}``. Each preset has a ready
        job ``spec`` and ``mitigated`` variants (each with its own ``spec``); each sweep preset a
        ready ``request`` for :meth:`sweep`."""
        return self._json("GET", "/v1/presets")

    def preset(self, preset_id: str) -> Dict[str, Any]:
        """One preset, mitigated variant or sweep preset by id (e.g. "textbook-exploding",
        "textbook-exploding-clip-norm", "sweep-textbook")."""
        catalog = self.presets()
        for preset in catalog.get("presets", []):
            if preset.get("id") == preset_id:
                return preset
            for variant in preset.get("mitigated", []):
                if variant.get("id") == preset_id:
                    return variant
        for sweep in catalog.get("sweeps", []):
            if sweep.get("id") == preset_id:
                return sweep
        known = [p["id"] for p in catalog.get("presets", [])] + [s["id"] for s in catalog.get("sweeps", [])]
        raise KeyError(f"no preset {preset_id!r}; the server has {', '.join(known)}")

    def analysis(self, network: Dict[str, Any], seed: Optional[int] = None) -> Dict[str, Any]:
        """POST /v1/analysis: what a network's initial weights do to a signal (per-layer singular
        values, the partial products W_k…W_1, the exact product for small nets, gain^L, …).
        ``network`` is a job spec's ``network`` (a whole ``{"network": …, "seed": …}`` request is
        accepted too)."""
        body = dict(network) if "network" in network else {"network": network}
        if seed is not None:
            body["seed"] = seed
        return decode(self._json("POST", "/v1/analysis", body))

    # ----------------------------------------------------------------------------------- jobs

    def submit(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        """Submits a job spec; returns the job resource (status "queued" or "running")."""
        return decode(self._json("POST", "/v1/jobs", spec))

    def job(self, job_id: str) -> Dict[str, Any]:
        """The job: status, progress, ``summary`` once it has ended, ``lastSeq``, links."""
        return decode(self._json("GET", f"/v1/jobs/{_quote(job_id)}"))

    def jobs(self, status: Optional[str] = None, limit: int = 20) -> List[Dict[str, Any]]:
        """The newest jobs (one page), optionally only those with ``status``."""
        query = {"limit": str(limit), **({"status": status} if status else {})}
        page = self._json("GET", "/v1/jobs?" + urllib.parse.urlencode(query))
        return [decode(item) for item in page["items"]]

    def cancel(self, job_id: str) -> Dict[str, Any]:
        """Cancels a queued or running job (GradientLabError 409 GL_ERR_JOB_ENDED once it has ended)."""
        return decode(self._json("DELETE", f"/v1/jobs/{_quote(job_id)}"))

    def events(
        self, job_id: str, from_: int = 0, transport: Optional[str] = None, retries: int = 5
    ) -> Iterator[Dict[str, Any]]:
        """The job's events from seq ``from_`` on — ``step``, ``nonfinite``, then ``done`` — each
        exactly once and in order, live while it runs. Over the WebSocket when ``websockets`` is
        installed, NDJSON otherwise; after a dropped connection it reconnects with ``from`` = the
        last seq + 1 (``retries`` times in a row at most). Leaving the loop early closes the
        connection at once."""
        return follow(self, "jobs", _quote(job_id), from_, transport or self.transport, retries)

    def wait(self, job_id: str) -> Dict[str, Any]:
        """Follows the job's events until ``done``; returns the ended job."""
        job = self.job(job_id)
        if job["status"] not in ENDED:
            for _ in self.events(job_id, from_=max(0, int(job.get("lastSeq", -1)) + 1)):
                pass
            job = self.job(job_id)
        return job

    def result(self, job_id: str) -> Result:
        """The job, its summary and its whole series (so far, for a running job); see Result."""
        body = decode(self._json("GET", f"/v1/jobs/{_quote(job_id)}/result"))
        series = body["series"]
        return Result(body["job"], body.get("summary"), series, job_frame(series, self.use_pandas))

    def csv(self, job_id: str) -> str:
        """The result as the server's CSV text (one row per recorded step)."""
        return self._text(f"/v1/jobs/{_quote(job_id)}/result?format=csv", "text/csv")

    def run(self, spec: Dict[str, Any]) -> Result:
        """Submits the spec, waits until the job ends, returns its Result. A simulation that blew up
        has *succeeded* (its summary says so); ``failed`` is a system failure (``job["error"]``)."""
        job = self.submit(spec)
        self.wait(job["id"])
        return self.result(job["id"])

    # --------------------------------------------------------------------------------- sweeps

    def sweep(
        self,
        request: Optional[Dict[str, Any]] = None,
        *,
        id: Optional[str] = None,  # noqa: A002 - the resource's own word
        wait: bool = True,
    ) -> SweepResult:
        """Starts a sweep (``request``: a POST /v1/sweeps body, e.g. a sweep preset's ``request``)
        or reads one (``id=``). With ``wait`` (the default) follows its cell events until it ends.
        Returns the sweep with its cells and a frame of one row per cell."""
        if (request is None) == (id is None):
            raise ValueError("pass either a sweep request or id=…")
        if request is not None:
            id = self._json("POST", "/v1/sweeps", request)["id"]
        assert id is not None
        if wait:
            current = self._json("GET", f"/v1/sweeps/{_quote(id)}")
            if current["status"] == "running":
                for _ in self.sweep_events(id):
                    pass
        body = decode(self._json("GET", f"/v1/sweeps/{_quote(id)}"))
        cells = body.pop("cells")
        return SweepResult(body, cells, sweep_frame(body, cells, self.use_pandas))

    def sweep_events(
        self, sweep_id: str, from_: int = 0, transport: Optional[str] = None, retries: int = 5
    ) -> Iterator[Dict[str, Any]]:
        """The sweep's events from seq ``from_``: a ``cell`` event as each cell ends, then ``done``
        (each once, resumed after a drop, as :meth:`events`)."""
        return follow(self, "sweeps", _quote(sweep_id), from_, transport or self.transport, retries)

    def sweep_csv(self, sweep_id: str) -> str:
        """The sweep as the server's CSV text (one row per cell)."""
        return self._text(f"/v1/sweeps/{_quote(sweep_id)}?format=csv", "text/csv")

    def cancel_sweep(self, sweep_id: str) -> Dict[str, Any]:
        """Cancels the cells not yet done (GradientLabError 409 once the sweep has ended)."""
        return decode(self._json("DELETE", f"/v1/sweeps/{_quote(sweep_id)}"))


def _quote(ident: Union[str, int]) -> str:
    return urllib.parse.quote(str(ident), safe="")
