"""Synthetic housing market with known truth: the embedded default dataset.

:func:`generate_market` draws a deterministic (per seed) market of listings and sales in six
cities of two countries, with a spatial price surface (neighbourhood clusters plus a smooth
decay with distance to the centre), hedonic effects, a monthly price index per city, asking
prices above sale prices, re-listings, and injected data faults. Every row of the observed,
messy ``frame`` has a row in ``truth`` with the values before any fault, the true market
value, the true sale and asking prices and one ``fault_<kind>`` flag per fault kind.

Generative model (log scale, per property, at the first month)::

    log v = log(base €/m2 · 80) + 0.9 · log(area / 80) + neighbourhood premium
            - decay · distance / radius + type + year_built(non-linear) + condition
            + floor/elevator + terrace + garage (only in the description) + bathrooms
            + quality,   quality ~ N(0, 0.07) (unobserved)

    true_value        = v · index[city, month]
    true_sale_price   = true_value · exp(e),  e ~ N(0, 0.05) per property
    true_asking_price = true_sale_price · markup · price cuts (re-listings only)

Markups are about 3-12 %: higher for houses and penthouses and in Roma and Valencia.

Modules, from the bottom up:

- :mod:`~estimo.synth.cities`: the six cities (centre, radius, price level, drift, habits);
- :mod:`~estimo.synth.prices`: the price model (hedonic value, city index, sale noise,
  markup);
- :mod:`~estimo.synth.properties`: the housing stock (location and attributes of each
  property);
- :mod:`~estimo.synth.listings`: appearances, re-listings and price cuts, sales, dates, texts;
- :mod:`~estimo.synth.faults`: fault rates, injected faults and duplicates;
- :mod:`~estimo.synth.market`: :func:`generate_market` and :class:`SyntheticMarket`.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(2_000, seed=3)
>>> len(market.frame) == len(market.truth)
True
"""

from __future__ import annotations

from estimo.synth.faults import FAULT_KINDS, FaultRates
from estimo.synth.market import EXTRA_COLUMNS, SyntheticMarket, generate_market
from estimo.synth.properties import CONDITIONS, PROPERTY_TYPES

__all__ = [
    "CONDITIONS",
    "EXTRA_COLUMNS",
    "FAULT_KINDS",
    "PROPERTY_TYPES",
    "FaultRates",
    "SyntheticMarket",
    "generate_market",
]
