"""Fixtures for the client tests, which run against a LIVE server.

test/ops/python-client.test.ts starts the real server (a temporary DATA_DIR, a free port, API
keys on) and runs these tests with GRADIENT_LAB_TEST_URL and GRADIENT_LAB_TEST_API_KEY set. By hand:

    npm start &   # or any running server
    GRADIENT_LAB_TEST_URL=http://localhost:8080 /usr/bin/python3 -m pytest clients/python/tests -q
"""

from __future__ import annotations

import os
import socket
import threading
from typing import List, Optional

import pytest

from gradient_lab import Client


@pytest.fixture(scope="session")
def url() -> str:
    value = os.environ.get("GRADIENT_LAB_TEST_URL")
    if not value:
        pytest.skip("GRADIENT_LAB_TEST_URL is not set: these tests need a running server")
    return value.rstrip("/")


@pytest.fixture(scope="session")
def api_key() -> Optional[str]:
    return os.environ.get("GRADIENT_LAB_TEST_API_KEY") or None


@pytest.fixture(scope="session")
def client(url: str, api_key: Optional[str]) -> Client:
    return Client(url, api_key=api_key)


class CuttingProxy:
    """A TCP proxy in front of the server that cuts connections, as a flaky network would.

    Each accepted connection takes the next budget from ``budgets`` (bytes the server may send to
    the client through it; None = unlimited): once the budget is spent, both sockets are closed in
    the middle of whatever was being sent. ``requests`` records each connection's request line, so
    a test can see the ``from`` each reconnection asked for.
    """

    def __init__(self, upstream: str) -> None:
        host, port = upstream.split("://", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.budgets: List[Optional[int]] = []
        self.requests: List[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                budget = self.budgets.pop(0) if self.budgets else None
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._client_to_server, args=(downstream, upstream), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(upstream, downstream, budget), daemon=True).start()

    def _client_to_server(self, src: socket.socket, dst: socket.socket) -> None:
        first = True
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if first:
                    with self.lock:
                        self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    first = False
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(dst)

    def _server_to_client(self, src: socket.socket, dst: socket.socket, budget: Optional[int]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if budget is not None:
                    if len(data) >= budget:
                        dst.sendall(data[:budget])
                        break  # cut: close both sides mid-stream
                    budget -= len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(dst)
            _close(src)

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def proxy(url: str):
    p = CuttingProxy(url)
    yield p
    p.close()
