"""Resident memory of this process, to measure what loading a bundle costs.

Examples
--------
>>> rss_bytes() > 0
True
"""

from __future__ import annotations

import os

__all__ = ["rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size in bytes (``/proc/self/statm``; peak RSS where there is no /proc)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
