"""Country and region names for one page, in its language, read from the catalogue the first
time a template asks (``{{ plan.zone_code | place }}``), so pages that name nothing read
nothing."""

from __future__ import annotations

from topup.catalog import places
from topup.db.uow import Database


class Places:
    """The names of zones (the operator's) and countries (CLDR's) in ``lang``."""

    def __init__(self, db: Database, lang: str) -> None:
        self.db, self.lang = db, lang
        self._zones: dict[str, str] | None = None

    def name(self, code: str) -> str:
        """The name of zone or country ``code`` (the code when nothing names it)."""
        if self._zones is None:
            with self.db.unit(readonly=True) as uow:
                self._zones = places.place_names(uow, self.lang)
        return self._zones.get(code) or places.country_name(code, self.lang)

    def names(self, codes: list[str] | tuple[str, ...]) -> list[str]:
        """The names of ``codes``, sorted as the page's reader reads them."""
        return sorted(self.name(c) for c in codes)
