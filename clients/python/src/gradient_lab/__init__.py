"""Gradient Lab from Python: submit simulation jobs and sweeps, follow their events, read results.

    from gradient_lab import Client, GradientLabError

    client = Client("http://localhost:8080")          # api_key=… when the server has API keys
    spec = client.preset("textbook-exploding")["spec"]
    for event in client.events(client.submit(spec)["id"]):
        print(event["type"], event["seq"])
    result = client.run(spec)                          # submit, wait, fetch
    result.summary["outcome"], result.frame.head()     # a pandas DataFrame when pandas is installed

Standard library only at its core; pandas (DataFrames) and websockets (streaming over the
WebSocket; NDJSON otherwise) are used when installed. Every server error is a GradientLabError.
"""

from .client import Client, Result, SweepResult
from .errors import GradientLabError
from .tables import decode

__all__ = ["Client", "GradientLabError", "Result", "SweepResult", "decode"]
__version__ = "0.1.0"
