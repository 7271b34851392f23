"""Every refusal of the agents area has a stable code, an HTTP status, and a zh-CN title."""

from __future__ import annotations

import inspect

from topup.agents import errors
from topup.channels.api.messages import ZH


def test_every_agent_error_is_documented_and_translated() -> None:
    found = [c for _, c in inspect.getmembers(errors, inspect.isclass)
             if issubclass(c, errors.AgentError) and c is not errors.AgentError]
    assert len(found) == 15
    codes = [c.code for c in found]
    assert len(set(codes)) == len(codes)
    for cls in found:
        assert cls.code in ZH, cls.code
        assert cls.__name__ in (errors.__doc__ or ""), cls.__name__
        assert cls.__doc__ and 400 <= cls.status < 500
    assert errors.SignatureInvalid.status == 401 and errors.NonceReplayed.status == 409
    assert errors.FloatInsufficient.status == 422 and errors.TerminalDisabled.status == 403
