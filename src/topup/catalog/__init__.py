"""The catalogue: zones (countries and regions), plans, prices, top-up limits and rates."""
