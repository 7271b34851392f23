"""Import plans from CSV rows (``csv.DictReader``), all or nothing.

Header: ``code,name_en,name_zh,zone,kind,data_mb,voice_min,sms,validity_days,validity_start,
priority,price_CNY,price_USD,...``: any number of ``price_XXX`` columns holding decimal text in
major units (``99.9`` CNY is 9990 fen), an empty cell meaning "not sold in XXX". ``data_mb`` is
MiB (decimals allowed when they make whole bytes), ``voice_min`` minutes; empty counts are 0.
An optional ``renew_on`` column says when auto-renew buys the plan again: ``expiry`` (default)
or ``data_out`` (as soon as its data is used up).

Every row is checked before any is written, so a bad file writes nothing; the error names the
row as a spreadsheet does (the header is row 1, the first plan row 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from topup.catalog.errors import InvalidPlan
from topup.catalog.service import PlanSpec, upsert_plan, validate_plan
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.money import Money

REQUIRED = ("code", "name_en", "name_zh", "zone", "kind", "validity_days")
OPTIONAL = ("data_mb", "voice_min", "sms", "validity_start", "priority", "renew_on")
MIB = 1024 * 1024


def _scaled(text: str, factor: int, what: str) -> int:
    """``text`` (a decimal, empty = 0) times ``factor``, which must come out whole."""
    if not text.strip():
        return 0
    try:
        value = Decimal(text.strip()) * factor
    except InvalidOperation as exc:
        raise InvalidPlan(f"{what} is not a number: {text!r}") from exc
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise InvalidPlan(f"{what} must be a non-negative whole number of units: {text!r}")
    return int(value)


def _prices(row: dict[str, str]) -> dict[str, int]:
    prices: dict[str, int] = {}
    for column, text in row.items():
        if column.startswith("price_") and (text or "").strip():
            currency = column.removeprefix("price_")
            prices[currency] = Money.parse(text, currency).amount
    if not prices:
        raise InvalidPlan("the plan has no price in any currency")
    return prices


def _check_columns(columns: Iterable[str]) -> None:
    names = set(columns)
    missing = [c for c in REQUIRED if c not in names]
    unknown = sorted(n for n in names - set(REQUIRED) - set(OPTIONAL)
                     if not n.startswith("price_"))
    if missing or unknown:
        raise InvalidPlan(f"row 1: missing columns {missing}, unknown columns {unknown}")


def _spec(row: dict[str, str]) -> PlanSpec:
    if None in row or any(v is None for v in row.values()):
        raise InvalidPlan("the row has a different number of cells than the header")
    return PlanSpec(
        code=row["code"], name_en=row["name_en"], name_zh=row["name_zh"],
        zone_code=row["zone"], kind=row["kind"].strip(),
        data_bytes=_scaled(row.get("data_mb", ""), MIB, "data_mb"),
        voice_seconds=_scaled(row.get("voice_min", ""), 60, "voice_min"),
        sms_count=_scaled(row.get("sms", ""), 1, "sms"),
        validity_days=_scaled(row["validity_days"], 1, "validity_days"),
        validity_start=(row.get("validity_start") or "").strip() or "purchase",
        priority=_scaled(row.get("priority") or "100", 1, "priority"),
        renew_on=(row.get("renew_on") or "").strip() or "expiry",
        prices=_prices(row),
    )


def parse_plans_csv(uow: UnitOfWork, rows: Iterable[dict[str, str]]) -> list[PlanSpec]:
    """Check every row and return the plan specs; ``InvalidPlan`` names the first bad row."""
    specs: list[PlanSpec] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        if number == 2:
            _check_columns(row)
        try:
            spec = validate_plan(uow, _spec(row))
        except TopupError as exc:
            raise InvalidPlan(f"row {number}: {exc.detail}", row=number) from exc
        if spec.code in seen:
            raise InvalidPlan(f"row {number}: plan {spec.code} is also on row {seen[spec.code]}",
                              row=number)
        seen[spec.code] = number
        specs.append(spec)
    return specs


def import_plans_csv(uow: UnitOfWork, rows: Iterable[dict[str, str]]) -> int:
    """Create or update the plans in ``rows``; returns how many rows were imported."""
    specs = parse_plans_csv(uow, rows)
    for spec in specs:
        upsert_plan(uow, spec)
    return len(specs)
