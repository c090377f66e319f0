"""The valuation service (FastAPI; install with ``pip install "estimo[serve]"``).

Layout: :mod:`~estimo.serve.main` builds the app; :mod:`~estimo.serve.routers` has one
router per resource; :mod:`~estimo.serve.model_router` maps cities to bundles under a
memory budget; :mod:`~estimo.serve.catalog` lists the bundles (registry aliases or a
folder); :mod:`~estimo.serve.valuer` is what the service asks of a bundle.
"""
