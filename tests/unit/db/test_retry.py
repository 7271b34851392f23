"""The retry policy on its own: which errors are retried (the driver's SQLSTATE under
SQLAlchemy's wrapper, never a domain answer nor an error merely raised while handling one),
the jittered pauses under their doubling ceiling, and the bounds: tries and seconds."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from topup.db.retry import (
    Attempts,
    RetryPolicy,
    RetryStats,
    TransactionConflict,
    is_retryable,
    sqlstate,
)


class DriverError(Exception):
    """What psycopg raises: an exception carrying ``sqlstate``."""

    def __init__(self, state: str) -> None:
        super().__init__(f"driver error {state}")
        self.sqlstate = state


def wrapped(state: str) -> OperationalError:
    return OperationalError("UPDATE ...", {}, DriverError(state))


def test_the_sqlstate_is_found_under_the_wrapper_and_as_a_cause() -> None:
    assert sqlstate(wrapped("40001")) == "40001"
    assert is_retryable(wrapped("40P01"))
    assert not is_retryable(IntegrityError("INSERT ...", {}, DriverError("23505")))
    try:
        raise RuntimeError("re-raised") from wrapped("40001")
    except RuntimeError as exc:
        assert is_retryable(exc)
    assert not is_retryable(ValueError("no database here"))


def test_an_answer_or_an_error_raised_while_handling_a_conflict_is_not_one() -> None:
    spent = TransactionConflict("tries spent")
    spent.__cause__ = wrapped("40001")
    assert not is_retryable(spent), "retrying a spent conflict again would multiply the tries"
    try:
        try:
            raise wrapped("40001")
        except OperationalError:
            raise KeyError("while cleaning up") from None
    except KeyError as exc:
        assert exc.__context__ is not None and not is_retryable(exc)


def test_pauses_are_jittered_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(attempts=6, base=0.01, cap=0.05)
    assert list(policy.pauses(lambda: 1.0)) == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert list(policy.pauses(lambda: 0.0)) == [0.0] * 5
    assert all(0 <= p <= 0.05 for p in policy.pauses())


def test_the_tries_stop_at_the_attempts_or_the_time_bound_whichever_comes_first() -> None:
    slept: list[float] = []
    stats = RetryStats()
    tries = Attempts(RetryPolicy(attempts=3, seconds=10), stats, "test", slept.append)
    assert tries.again(wrapped("40001")) and tries.again(wrapped("40P01"))
    with pytest.raises(TransactionConflict) as spent:
        tries.again(wrapped("40001"))
    assert isinstance(spent.value.__cause__, OperationalError)
    assert len(slept) == 2 and tries.tries == 3
    assert stats.snapshot() == {"retries": {"serialization_failure": 1, "deadlock_detected": 1},
                                "gave_up": 1}
    assert not tries.again(ValueError("not a conflict")), "anything else is not retried"

    clock = [0.0]
    late = Attempts(RetryPolicy(attempts=100, seconds=1.0, base=0.4, cap=0.4), RetryStats(),
                    "test", lambda s: clock.__setitem__(0, clock[0] + s), lambda: clock[0])
    with pytest.raises(TransactionConflict):
        while late.again(wrapped("40001")):
            pass
    assert clock[0] <= 1.0 and late.tries < 100


def test_a_spent_conflict_crosses_from_the_writer_process_intact() -> None:
    """The writer process answers API processes with pickled refusals (db/remote.py)."""
    from topup.db.remote import portable, rebuilt

    spent = TransactionConflict("tries spent")
    spent.__cause__ = wrapped("40P01")
    ok, sent = portable(spent)
    back = rebuilt(sent)
    assert not ok and isinstance(back, TransactionConflict)
    assert (back.status, back.code, back.detail, back.extra) == (
        503, "transaction_conflict", "tries spent", {"retry_after": 1})
