"""Every notification error has a stable code, a zh-CN title, and the status its root says."""

from __future__ import annotations

import inspect

from topup.channels.api.messages import ZH
from topup.errors import TopupError
from topup.notifications import errors


def test_each_error_has_a_unique_code_and_a_chinese_title() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, TopupError) and c.__module__ == errors.__name__]
    assert len(classes) == 7
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert cls.code in ZH, cls.code
    assert errors.NotificationNotFound.status == 404 and errors.InvalidPreferences.status == 422
    assert errors.PermanentFailure.permanent and not errors.TemporaryFailure.permanent
