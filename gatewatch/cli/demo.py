"""The demo: two sample gate cameras fed by the shared footage, against a sample visitor log.

``samples/visits.csv`` is written against the start times below, so some entries are
explained by a registration and others are flagged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DEMO_CONFIG = SAMPLES / "gatewatch.yaml"
DEMO_VISITS = SAMPLES / "visits.csv"

#: Wall-clock time of each sample camera's first frame (WIB, the site's zone).
DEMO_STARTS = {
    "street-gate": datetime.fromisoformat("2026-11-20T09:00:00+07:00"),
    "vehicle-gate": datetime.fromisoformat("2026-11-20T09:05:00+07:00"),
}

#: Demo logins, one per role; the password is printed when the demo serves the UI.
DEMO_PASSWORD = "gatewatch-demo"
DEMO_USERS = (
    ("operator", "operator", "Operator CCTV (demo)"),
    ("guard", "guard", "Petugas jaga (demo)"),
    ("auditor", "auditor", "Auditor (demo)"),
    ("admin", "admin", "Administrator (demo)"),
)
