"""Every /api/v1 route, on one blueprint: importing this module registers them all."""

from __future__ import annotations

import gatewatch.web.api.crossings  # noqa: F401 (registers POST /crossings, for devices)
from gatewatch.web.api import authorisations, contract, events, site, visitor_log
from gatewatch.web.api.blueprint import bp

__all__ = ["authorisations", "bp", "contract", "events", "site", "visitor_log"]
