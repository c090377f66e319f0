"""The valuation page: a form a home owner fills in, and the answer, served at ``/``.

Server-rendered Jinja2 templates (:mod:`estimo.serve.routers.page`) with a small hand-written
script and stylesheet under ``static/`` (no bundler, no build step). :mod:`.form` decides
which fields the served model uses and checks them with the API's rules; :mod:`.charts`
draws the range bar and the waterfall as inline SVG; :mod:`.maps` the offline maps (the
comparables around the home, the city's pin map) from :mod:`.places` (the bundle's known
locations, kept on the server); :mod:`estimo.serve.warnings_text` says the warnings in the
page's language (the API uses it too);
:mod:`.words` holds the page's words.
"""
