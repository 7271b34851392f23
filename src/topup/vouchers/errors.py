"""Voucher errors: batches, cards and redemption.

VoucherError                              root
 ├─ WrongPin (InvalidInput, 422)          no voucher has this PIN, or its check digit is wrong;
 │                                        the same answer whether or not any PIN is near it
 ├─ VoucherUsed (InvalidInput, 422)       the voucher was redeemed before
 ├─ VoucherExpired (InvalidInput, 422)    the voucher's expiry has passed
 ├─ VoucherBlocked (InvalidInput, 422)    the voucher or its batch is blocked by the operator
 ├─ VoucherInactive (InvalidInput, 422)   the card was never sold (its batch is not activated)
 ├─ VoucherBusy (Conflict, 409)           the voucher is being redeemed right now
 ├─ RedemptionLocked (RateLimited, 429)   too many failed tries from this line, address,
 │                                        terminal or session; ``retry_after`` seconds
 ├─ VoucherNotFound (NotFound, 404)       no voucher has this serial
 ├─ BatchNotFound (NotFound, 404)         no such batch
 ├─ InvalidBatch (InvalidInput, 422)      a bad batch request (count, face, PIN length…)
 ├─ VoucherStateConflict (Conflict, 409)  the batch or voucher is not in a state that allows this
 └─ VoucherSaleKeyReused (Conflict, 409)  a sale key already sold another voucher
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound, RateLimited, TopupError


class VoucherError(TopupError):
    """Root of voucher errors."""

    code = "voucher_error"
    title = "Voucher request failed"


class WrongPin(VoucherError, InvalidInput):
    """Raised for a PIN that matches no voucher (or fails its check digit, a typo)."""

    code = "voucher_invalid"
    title = "This voucher PIN is not valid"


class VoucherUsed(VoucherError, InvalidInput):
    """Raised when the voucher has already been redeemed."""

    code = "voucher_used"
    title = "This voucher has already been used"


class VoucherExpired(VoucherError, InvalidInput):
    """Raised when the voucher's expiry date has passed."""

    code = "voucher_expired"
    title = "This voucher has expired"


class VoucherBlocked(VoucherError, InvalidInput):
    """Raised when the voucher or its batch is blocked (lost, stolen, disputed)."""

    code = "voucher_blocked"
    title = "This voucher is blocked; ask the seller"


class VoucherInactive(VoucherError, InvalidInput):
    """Raised when the card was never sold to a distributor or retailer, so it holds no value."""

    code = "voucher_inactive"
    title = "This voucher has not been activated; ask the seller"


class VoucherBusy(VoucherError, Conflict):
    """Raised when another redemption of the same voucher is in progress."""

    code = "voucher_busy"
    title = "This voucher is being redeemed right now"


class RedemptionLocked(VoucherError, RateLimited):
    """Raised while a line, address, terminal or session is locked after failed tries."""

    code = "voucher_locked"
    title = "Too many voucher attempts; try again later"


class VoucherNotFound(VoucherError, NotFound):
    """Raised when no voucher has the serial asked for."""

    code = "voucher_not_found"
    title = "No voucher has this serial number"


class BatchNotFound(VoucherError, NotFound):
    """Raised when a voucher batch does not exist."""

    code = "voucher_batch_not_found"
    title = "Voucher batch not found"


class InvalidBatch(VoucherError, InvalidInput):
    """Raised when a batch request has a bad count, face value, PIN length or expiry."""

    code = "invalid_voucher_batch"
    title = "Invalid voucher batch"


class VoucherStateConflict(VoucherError, Conflict):
    """Raised when a batch or voucher is not in a state that allows the action asked for."""

    code = "voucher_state_conflict"
    title = "The voucher or batch is not in a state that allows this"


class VoucherSaleKeyReused(VoucherError, Conflict):
    """Raised when a sale's idempotency key was already used to sell another voucher."""

    code = "voucher_sale_key_reused"
    title = "This sale key was already used for another voucher"
