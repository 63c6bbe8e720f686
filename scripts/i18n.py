#!/usr/bin/env python3
"""Keep the web interface's translations in step with its text.

    python scripts/i18n.py update    # extract messages.pot, merge new text into each messages.po
    python scripts/i18n.py compile   # messages.po -> messages.mo (commit both)

After ``update``, translate the entries with an empty msgstr (and check those marked fuzzy),
then ``compile``. tests/test_web_i18n.py fails while a text is untranslated or a .mo is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "gatewatch" / "web" / "translations"
MAPPING = ROOT / "gatewatch" / "web" / "babel.cfg"
TEMPLATE = TRANSLATIONS / "messages.pot"
KEYWORDS = ["_l", "lazy_gettext", "N_"]  # N_: crosscheck/wording.py


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def update() -> None:
    keywords = [option for keyword in KEYWORDS for option in ("-k", keyword)]
    pybabel(
        "extract",
        "-F",
        str(MAPPING),
        *keywords,
        "--no-location",
        "--sort-output",
        "--project",
        "gatewatch",
        "-o",
        str(TEMPLATE),
        str(ROOT / "gatewatch"),
    )
    for catalog in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        pybabel(
            "update",
            "-i",
            str(TEMPLATE),
            "-o",
            str(catalog),
            "-l",
            catalog.parent.parent.name,
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        )


def compile_catalogs() -> None:
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


if __name__ == "__main__":
    commands = {"update": update, "compile": compile_catalogs}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
