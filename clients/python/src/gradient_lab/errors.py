"""The one exception type the client raises.

Every error the server answers with is application/problem+json (RFC 9457, see the README's error
table): a stable ``code`` (``GL_ERR_VALIDATION``, ``GL_ERR_JOB_NOT_FOUND``, …), the HTTP ``status``,
a human ``detail`` and, for bad input, ``errors``: one ``{"path", "message"}`` per bad field, with a
dotted path (``network.depth``, ``axes.0.path``, ``querystring.limit``). A server that cannot be
reached, or an answer that is not problem+json, raises the same type with ``code`` None.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class GradientLabError(Exception):
    """An error from the Gradient Lab server (or from reaching it).

    Attributes:
        status: the HTTP status (None when the server could not be reached).
        code: the problem's ``code``, e.g. ``"GL_ERR_VALIDATION"`` (None when the answer was not
            problem+json or there was no answer).
        detail: the server's explanation (or the reason the request failed).
        errors: the field errors, a list of ``{"path": "network.depth", "message": "..."}``.
        problem: the whole problem+json body as a dict (empty when there was none).
        method, path: the request that failed.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        errors: Optional[List[Dict[str, str]]] = None,
        problem: Optional[Dict[str, Any]] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.errors: List[Dict[str, str]] = list(errors or [])
        self.problem: Dict[str, Any] = dict(problem or {})
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method and path else ""
        head = f"{status} {code}" if status is not None and code else (str(status) if status is not None else "")
        text = f"{where}{head}: {detail}" if head else f"{where}{detail}"
        if self.errors:
            text += "".join(f"\n  {e.get('path') or '(body)'}: {e.get('message')}" for e in self.errors)
        super().__init__(text)

    @property
    def fields(self) -> List[str]:
        """The dotted paths of the bad fields, in the server's order."""
        return [str(e.get("path", "")) for e in self.errors]

    @property
    def request_id(self) -> Optional[str]:
        """The server's request id: it finds the request in the server log."""
        rid = self.problem.get("requestId")
        return str(rid) if rid is not None else None

    @classmethod
    def from_response(cls, status: int, body: bytes, content_type: str, method: str, path: str) -> "GradientLabError":
        """Builds the error from an HTTP answer, problem+json or not."""
        import json

        text = body.decode("utf-8", errors="replace")
        problem: Dict[str, Any] = {}
        if "json" in (content_type or ""):
            try:
                parsed = json.loads(text)
                if isinstance(parsed, dict):
                    problem = parsed
            except ValueError:
                pass
        if problem:
            errors = problem.get("errors")
            return cls(
                str(problem.get("detail") or problem.get("title") or text),
                status=int(problem.get("status") or status),
                code=problem.get("code"),
                errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
                problem=problem,
                method=method,
                path=path,
            )
        return cls(text.strip()[:500] or f"HTTP {status}", status=status, method=method, path=path)
