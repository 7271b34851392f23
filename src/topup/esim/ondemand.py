"""Profiles ordered from the SM-DP+ at the sale, over ES2+, for pools kept empty on purpose.

A pool named in ``TOPUP_ESIM_ON_DEMAND`` ("profile type:zone") has no file to import: when a
buyer finds no profile of it in stock, ``order_one`` asks the SM-DP+ for one of the type
(``downloadOrder``), makes it downloadable at once (``confirmOrder`` with the release flag),
and adds it to the stock like an imported one, with its line; the buyer's reservation takes it
next. A reservation given back leaves it in stock, still downloadable, for the next buyer. If
the sale fails after the order, ``undo`` cancels it at the SM-DP+ (the profile back to
``Available`` there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from topup.config import Settings
from topup.db.uow import UnitOfWork
from topup.esim.errors import OutOfStock, SmdpRefused
from topup.esim.es2plus import Es2PlusClient
from topup.esim.inventory import Profile, import_profiles

log = logging.getLogger("topup.esim")


@dataclass
class OnDemand:
    """The SM-DP+ to order from, and the pools (type, zone) it fills."""

    client: Es2PlusClient
    pools: tuple[tuple[str, str], ...]

    def fills(self, profile_type: str, zone: str) -> bool:
        return (profile_type, zone) in self.pools

    def order_one(self, uow: UnitOfWork, profile_type: str, zone: str) -> Profile:
        """A new profile of ``profile_type`` from the SM-DP+, in stock (available) in the
        caller's unit of work; OutOfStock when the SM-DP+ has none of the type left."""
        try:
            iccid = self.client.download_order(profile_type=profile_type)
        except SmdpRefused as exc:  # the type has run out at the SM-DP+ (or is unknown)
            raise OutOfStock(f"the SM-DP+ has no {profile_type} profile: {exc.detail}",
                             profile_type=profile_type) from exc
        try:
            made = self.client.confirm_order(iccid, release=True)
            (profile,) = import_profiles(uow, [{
                "iccid": made.iccid, "smdp_address": made.smdp_address,
                "matching_id": made.matching_id, "profile_type": profile_type, "zone": zone}])
        except Exception:
            self.undo(iccid)
            raise
        return profile

    def undo(self, iccid: str) -> None:
        """Cancel an order whose sale did not happen; a failure is logged (the SM-DP+'s
        own order expiry returns the profile then)."""
        try:
            self.client.cancel_order(iccid, available=True)
        except Exception as exc:
            log.error("cancelOrder of %s failed: %s", iccid, exc)


def from_settings(settings: Settings) -> OnDemand | None:
    """The SM-DP+ of ``TOPUP_SMDP_*`` when it and on-demand pools are configured."""
    s = settings
    if not s.smdp_url or not s.esim_on_demand:
        return None
    cert: str | tuple[str, str] | None = None
    if s.smdp_client_cert:
        cert = (s.smdp_client_cert, s.smdp_client_key) if s.smdp_client_key \
            else s.smdp_client_cert
    client = Es2PlusClient(s.smdp_url, s.smdp_requester, s.smdp_address, client_cert=cert,
                           ca=s.smdp_ca or None)
    return OnDemand(client, s.esim_on_demand)
