"""The agent app's languages (docs/languages.md): every text the code asks for exists in
every catalogue, with the plural forms the language needs and the same placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
LANGUAGES = ("en", "pl", "el")
#: CLDR plural categories used by integers in each language (Intl.PluralRules).
PLURALS = {"en": {"one", "other"}, "pl": {"one", "few", "many", "other"}, "el": {"one", "other"}}
USE = re.compile(r"\btn?\(\s*'([A-Za-z0-9_.\-]+)'")
#: A key written as a plain string (in a table of columns, say) and passed to t() later.
LITERAL = re.compile(r"'([a-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)'")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(code: str) -> dict[str, Any]:
    text = (WEB / "i18n" / f"{code}.js").read_text(encoding="utf-8")
    body = text[text.index("export default") + len("export default") :].strip().rstrip(";")
    return json.loads(body)  # type: ignore[no-any-return]


def used_keys() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(WEB.rglob("*.js")):
        if "i18n" in path.parts:
            continue
        for key in USE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(WEB)))
    return found


def forms(value: Any) -> dict[str, str]:
    return {"other": value} if isinstance(value, str) else dict(value)


def test_every_key_the_code_uses_is_in_english() -> None:
    english = catalogue("en")
    missing = {k: where for k, where in used_keys().items() if k not in english}
    assert not missing, f"texts used but not in web/i18n/en.js: {missing}"


@pytest.mark.parametrize("code", LANGUAGES[1:])
def test_every_language_has_every_text(code: str) -> None:
    english, other = catalogue("en"), catalogue(code)
    assert sorted(set(english) - set(other)) == [], f"missing in {code}"
    assert sorted(set(other) - set(english)) == [], f"only in {code} (not in English)"


@pytest.mark.parametrize("code", LANGUAGES)
def test_plural_forms_and_placeholders(code: str) -> None:
    english = catalogue("en")
    for key, value in catalogue(code).items():
        if isinstance(value, dict):
            assert set(value) == PLURALS[code], f"{code} {key}: forms {sorted(value)}"
        wanted = {p for f in forms(english[key]).values() for p in PLACEHOLDER.findall(f)}
        for form, text in forms(value).items():
            assert text.strip(), f"{code} {key}.{form} is empty"
            got = set(PLACEHOLDER.findall(text))
            assert got <= wanted | {"count"}, f"{code} {key}.{form}: unknown {got - wanted}"


def test_no_catalogue_is_unused() -> None:
    literals = {
        k
        for p in WEB.rglob("*.js")
        if "i18n" not in p.parts
        for k in LITERAL.findall(p.read_text())
    }
    unused = sorted(set(catalogue("en")) - set(used_keys()) - literals - dynamic())
    assert not unused, f"texts no code asks for: {unused}"


#: Key families the code builds at run time (t(`day.${d}`)); listed so the check is exact.
DYNAMIC_PREFIXES = ("status.", "day.", "reports.group.", "csat.unnamed.", "theme.", "activity.")


def dynamic() -> set[str]:
    return {k for k in catalogue("en") if k.startswith(DYNAMIC_PREFIXES)}
