"""The line summary every offline channel tells: money in the wallet, data left, expiry.

One piece for all three channels: USSD and SMS show ``summary_text``; the IVR speaks the same
``LineSummary`` field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from topup.channels.selfservice.texts import language, t
from topup.charging.buckets import line_buckets
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.money import Money
from topup.subscribers.lines import Line

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class LineSummary:
    """What a traveller asks for when they check their line."""

    balances: tuple[Money, ...]  # the line's own currency first, then other non-empty wallets
    data_left: int | None  # bytes left in live buckets; None without a data plan
    data_expires: datetime | None  # when the first of those buckets with data left runs out
    valid_until: datetime | None
    auto_renew: bool

    @property
    def balance(self) -> Money:
        """The wallet in the line's own currency."""
        return self.balances[0]


def wallet_money(uow: UnitOfWork, line: Line) -> Money:
    """What the wallet in the line's currency can spend now."""
    found = ledger.wallets(uow, line.id).get(line.currency)
    return Money(found.available if found else 0, line.currency)


def line_summary(uow: UnitOfWork, line: Line) -> LineSummary:
    """Balances, data left and expiry of ``line`` as of the unit's ``now``."""
    others = [Money(b.available, cur) for cur, b in ledger.wallets(uow, line.id).items()
              if cur != line.currency and b.available > 0]
    data = [(b.units["data"]["remaining"], b.expires_at) for b in line_buckets(uow, line.id)
            if "data" in b.units]
    left = sum(r for r, _ in data) if data else None
    ends = [e for r, e in data if r > 0 and e is not None]
    return LineSummary((wallet_money(uow, line), *others), left, min(ends, default=None),
                       line.valid_until, line.auto_renew)


def money_text(money: Money, lang: str) -> str:
    """Money as the caller's language writes it (``CN¥49.00``, ``¥49.00``)."""
    return money.format(language(lang))


def data_text(nbytes: int) -> str:
    """Data in binary units as plans are sold: ``10 GB``, ``9.5 GB``, ``512 MB``."""
    if nbytes >= GIB:
        gb = (Decimal(nbytes) / GIB).quantize(Decimal("0.01"))
        return f"{gb.normalize():f} GB"
    return f"{nbytes // MIB} MB"


def date_text(at: datetime) -> str:
    """A date both languages read the same way (UTC): ``2026-11-29``."""
    return at.date().isoformat()


def summary_text(s: LineSummary, lang: str, *, with_renewal: bool = False) -> str:
    """The summary as a few short lines (fits one USSD screen in either language)."""
    parts = [t("balance", lang, money=", ".join(money_text(m, lang) for m in s.balances))]
    if s.data_left is None:
        parts.append(t("no_data", lang))
    else:
        expiry = date_text(s.data_expires) if s.data_expires else "-"
        parts.append(t("data_left", lang, data=data_text(s.data_left), date=expiry))
    if s.valid_until is not None:
        parts.append(t("valid_until", lang, date=date_text(s.valid_until)))
    if with_renewal:
        parts.append(t("auto_renew_on" if s.auto_renew else "auto_renew_off", lang))
    return "\n".join(parts)
