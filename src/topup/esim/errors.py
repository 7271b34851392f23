"""Errors of talking to the SM-DP+ (``es2plus.py``)."""

from __future__ import annotations

from typing import Any

from topup.errors import TopupError


class SmdpRefused(TopupError):
    """The SM-DP+ answered a function with ``Failed`` or ``Expired``: ``subject_code`` and
    ``reason_code`` (SGP.22's status code data) say about what and why."""

    code = "smdp_refused"
    status = 502
    title = "The eSIM provider refused the request"

    def __init__(self, function: str, status: str, data: dict[str, Any]) -> None:
        self.function, self.execution_status = function, status
        self.subject_code = str(data.get("subjectCode") or "")
        self.reason_code = str(data.get("reasonCode") or "")
        self.subject_identifier = str(data.get("subjectIdentifier") or "")
        self.message = str(data.get("message") or "")
        said = f": {self.message}" if self.message else ""
        super().__init__(
            f"{function}: {status} (subject {self.subject_code or '?'}, reason "
            f"{self.reason_code or '?'}){said}", function=function, status=status,
            subject_code=self.subject_code, reason_code=self.reason_code)


class SmdpUnavailable(TopupError):
    """The SM-DP+ could not be reached, or did not answer as ES2+ says it answers."""

    code = "smdp_unavailable"
    status = 502
    title = "The eSIM provider is not reachable"
