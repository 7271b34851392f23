"""Plans side by side: what a plan's price comes to per GB and per day, and which plans a
comparison may hold (one to four, each on sale).

The price is always the price service's quote (``quotes.price``); this module only divides
its total, rounding half up to a minor unit, so a card and the compare view agree with the
checkout to the last digit of the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from topup.catalog.errors import InvalidComparison, PlanNotFound, PlanNotOnSale
from topup.catalog.quotes import Quote
from topup.catalog.service import Plan, ensure_on_sale, get_plan
from topup.db.uow import UnitOfWork

__all__ = ["MAX_COMPARED", "PerUnit", "parse_ids", "per_unit", "plans_to_compare"]

GIB = 1024**3  # binary, as the pages count data
MAX_COMPARED = 4
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class PerUnit:
    """A quote's total per GB of the plan's data (None for a plan without data) and per day
    of its validity, in minor units of ``currency``."""

    currency: str
    per_gb: int | None
    per_day: int


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def per_unit(plan: Plan, quote: Quote) -> PerUnit:
    """What ``quote`` (the price service's quote of ``plan``) comes to per GB and per day."""
    per_gb = _half_up(quote.total * GIB, plan.data_bytes) if plan.data_bytes else None
    return PerUnit(quote.currency, per_gb, _half_up(quote.total, plan.validity_days))


def parse_ids(raw: list[str]) -> list[int]:
    """Plan ids from a query (``ids=1&ids=2`` or ``ids=1,2``), in order, without repeats;
    ``InvalidComparison`` for anything but one to four ids."""
    ids: list[int] = []
    for part in ",".join(raw).split(","):
        text = part.strip()
        if not text:
            continue
        if not text.isdigit() or not 0 < int(text) <= MAX_ID:
            raise InvalidComparison(f"{text[:20]!r} is not a plan id", field="ids",
                                    reason="bad_id")
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise InvalidComparison("choose a plan to compare", field="ids", reason="none")
    if len(ids) > MAX_COMPARED:
        raise InvalidComparison(f"compare at most {MAX_COMPARED} plans, not {len(ids)}",
                                field="ids", reason="too_many")
    return ids


def plans_to_compare(uow: UnitOfWork, ids: list[int], at: datetime) -> list[Plan]:
    """The plans ``ids`` names, in order; ``InvalidComparison`` when one does not exist or
    is not on sale at ``at``."""
    found = []
    for plan_id in ids:
        try:
            plan = get_plan(uow, plan_id)
            ensure_on_sale(plan, at)
        except (PlanNotFound, PlanNotOnSale) as exc:
            raise InvalidComparison(f"plan {plan_id} is not on sale", field="ids",
                                    reason="unknown", plan_id=plan_id) from exc
        found.append(plan)
    return found
