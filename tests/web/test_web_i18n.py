"""The Indonesian catalogue covers every text of the interface and its compiled .mo is current."""

from __future__ import annotations

import re
from collections.abc import Iterable

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from gatewatch.web.i18n import TRANSLATIONS

PACKAGE = TRANSLATIONS.parent.parent
MAPPING = TRANSLATIONS.parent / "babel.cfg"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}


def _source_messages() -> set[str]:
    """Every msgid written in the web and API code and templates, found as pybabel finds them."""
    with open(MAPPING, encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_every_text_in_the_interface_has_an_indonesian_translation() -> None:
    catalog = _catalog("id")
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string]) and not m.fuzzy
    }
    source = _source_messages()
    assert len(source) > 200
    assert source - translated == set(), "run scripts/i18n.py update, translate, then compile"


def _pairs(catalog: Iterable[Message]) -> dict[object, object]:
    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def test_the_compiled_catalogue_matches_its_source() -> None:
    with open(TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    assert _pairs(compiled) == _pairs(_catalog("id")), "run scripts/i18n.py compile"


def test_translations_keep_their_placeholders() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for message in _catalog("id"):
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert set(placeholder.findall(string)) == set(placeholder.findall(source)), source
