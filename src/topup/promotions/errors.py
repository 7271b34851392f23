"""Errors of campaigns, promo codes and redemptions.

PromotionError                               root of the promotions area's refusals
 ├─ CampaignNotFound (NotFound)              no campaign has that id
 ├─ InvalidCampaign (InvalidInput)           a campaign or code definition is not acceptable
 ├─ PromoCodeNotFound (InvalidInput)         no code of a live campaign is spelt that way
 │                                           (``unknown_promo_code``)
 ├─ PromoCodeNotApplicable (InvalidInput)    the code exists but does not apply to this
 │                                           order; ``reason`` says why (``not_live``,
 │                                           ``no_items``, ``min_spend``, ``used_up``,
 │                                           ``budget``, ``customer_limit``)
 ├─ InvalidInvite (InvalidInput)              an invite code that is not a traveller's
 └─ PromotionUnavailable (Conflict)          a campaign's limit or budget ran out between the
                                             quote and the order: quote again
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound, TopupError


class PromotionError(TopupError):
    """Root of the promotions area's errors; catch it to handle any of them."""

    code = "promotion_error"
    title = "The promotion request was refused"


class CampaignNotFound(PromotionError, NotFound):
    """Raised when no campaign has the id."""

    code = "campaign_not_found"
    title = "Campaign not found"


class InvalidCampaign(PromotionError, InvalidInput):
    """Raised when a campaign's window, rule, scope, limits or a code are not acceptable."""

    code = "invalid_campaign"
    title = "Invalid campaign"


class PromoCodeNotFound(PromotionError, InvalidInput):
    """Raised when no promo code of a live campaign is spelt as entered."""

    code = "unknown_promo_code"
    title = "Unknown promo code"


class PromoCodeNotApplicable(PromotionError, InvalidInput):
    """Raised when a code exists but cannot be used for this order (``reason``)."""

    code = "promo_code_not_applicable"
    title = "This promo code cannot be used for this order"


class InvalidInvite(PromotionError, InvalidInput):
    """Raised when an invite code given at registration is not a traveller's."""

    code = "invalid_invite"
    title = "This invite code is not valid"


class PromotionUnavailable(PromotionError, Conflict):
    """Raised when a campaign's limit or budget was reached after the price was quoted."""

    code = "promotion_unavailable"
    title = "This offer has just run out; see the new price"
