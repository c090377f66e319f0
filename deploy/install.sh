#!/usr/bin/env sh
# Install Estimo's valuation service into a virtual environment at $1 (default /opt/estimo).
# The Dockerfile runs exactly this; CI runs it too (tests/serve/test_deploy.py), so the
# image's install steps are exercised on every change.
set -eu
PREFIX="${1:-/opt/estimo}"
SOURCE="${2:-.}"
python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install --no-cache-dir --quiet --upgrade pip
"$PREFIX/bin/pip" install --no-cache-dir --quiet "$SOURCE[serve]"
"$PREFIX/bin/estimo" --help > /dev/null
"$PREFIX/bin/python" -c "import estimo.serve.main"
