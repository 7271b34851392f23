"""Catalog errors.

CatalogError                        root of the catalogue's refusals
 ├─ PlanNotFound (NotFound)         no plan has that id or code
 ├─ UnknownZone (InvalidInput)      a zone code names no zone
 ├─ InvalidPlan (InvalidInput)      a plan definition or an imported row is not acceptable
 ├─ InvalidCatalogEntry (InvalidInput)  a zone, limit, preset or rate is not acceptable
 ├─ PriceNotAvailable (InvalidInput)    the plan has no price in the asked currency
 ├─ PlanNotOnSale (Conflict)        the plan is inactive or outside its sale window
 ├─ RatesNotFound (NotFound)        no out-of-bundle rate applies in that country (or it is
 │                                  no country at all)
 ├─ InvalidComparison (InvalidInput)  plans to compare: none, more than four, or unknown
 ├─ TopupOutOfLimits (InvalidInput) a money top-up is below the minimum or above the maximum;
 │                                  ``extra`` holds ``currency``, ``min_amount``, ``max_amount``
 ├─ InvalidQuote (InvalidInput)     a quote's lines do not add up, or a quote was asked badly
 ├─ InvalidTrip (InvalidInput)      a trip to plan is malformed: legs, dates, daily use
 └─ TripTooComplex (InvalidInput)   a trip has too many days and plans to search in time
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound, TopupError


class CatalogError(TopupError):
    """Root of catalogue errors; catch it to handle any of them."""

    code = "catalog_error"
    title = "The catalogue refused the request"


class PlanNotFound(CatalogError, NotFound):
    """Raised when no plan has the given id or code."""

    code = "plan_not_found"
    title = "Plan not found"


class UnknownZone(CatalogError, InvalidInput):
    """Raised when a zone code names no zone."""

    code = "unknown_zone"
    title = "Unknown country or region"


class InvalidPlan(CatalogError, InvalidInput):
    """Raised when a plan definition (or a row of a plan import) is not acceptable."""

    code = "invalid_plan"
    title = "Invalid plan"


class InvalidCatalogEntry(CatalogError, InvalidInput):
    """Raised when a zone, top-up limit, preset or out-of-bundle rate is not acceptable."""

    code = "invalid_catalog_entry"
    title = "Invalid catalogue entry"


class PriceNotAvailable(CatalogError, InvalidInput):
    """Raised when a plan has no price in the requested currency."""

    code = "price_not_available"
    title = "The plan is not sold in this currency"


class PlanNotOnSale(CatalogError, Conflict):
    """Raised when buying a plan that is inactive or outside its sale window."""

    code = "plan_not_on_sale"
    title = "The plan is not on sale"


class TopupOutOfLimits(CatalogError, InvalidInput):
    """Raised when a money top-up is outside the limits for the line's country or region."""

    code = "topup_out_of_limits"
    title = "Top-up amount out of limits"


class InvalidQuote(CatalogError, InvalidInput):
    """Raised when a quote is asked with a bad channel, or its lines do not add up."""

    code = "invalid_quote"
    title = "Invalid price quote"


class RatesNotFound(CatalogError, NotFound):
    """Raised when no out-of-bundle rate applies in a country (or the code is no country)."""

    code = "rates_not_found"
    title = "No rates for this country"


class InvalidComparison(CatalogError, InvalidInput):
    """Raised when plans to compare are none, more than the most compared at once, unknown
    or not on sale."""

    code = "invalid_comparison"
    title = "These plans cannot be compared"


class InvalidTrip(CatalogError, InvalidInput):
    """Raised when a trip to plan is malformed: a bad leg, dates, or daily use."""

    code = "invalid_trip"
    title = "Invalid trip"


class TripTooComplex(CatalogError, InvalidInput):
    """Raised when the planner's exact search would take too long for the trip asked."""

    code = "trip_too_complex"
    title = "The trip is too complex to plan at once"
