"""The language registry (asterai_kernel.languages) is the one list of languages, aliases and set-up targets:
the extension's table, the magic's help, the kernel_info reply and `asterai setup` agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asterai_kernel import AsteraiError
from asterai_kernel.languages import LANGUAGES, PLANNED, get_language, requirements, setup_names, supported

EXTENSION_TABLE = Path(__file__).resolve().parent.parent / "extension" / "src" / "languages.json"


def registry() -> dict[str, set[str]]:
    """Every cell kind the registry knows -> its aliases."""
    kinds = {lang.name: set(lang.aliases) for lang in LANGUAGES.values()}
    kinds.update({kind: set(entry.aliases) for kind, entry in PLANNED.items()})
    return kinds


@pytest.mark.no_toolchain
def test_the_extension_table_names_the_registrys_languages_and_aliases():
    table = json.loads(EXTENSION_TABLE.read_text())["languages"]
    assert {name: set(entry["aliases"]) for name, entry in table.items()} == registry(), (
        "extension/src/languages.json and languages/__init__.py must name the same languages and aliases"
    )


@pytest.mark.no_toolchain
def test_the_magic_help_names_every_language_and_alias():
    from asterai_kernel.magics import AsteraiMagics

    help_line = next(
        ln for ln in AsteraiMagics.asterai.__doc__.splitlines() if ln.strip().startswith("LANG:")
    )
    in_help = set(re.findall(r"[a-z+]+", help_line.split(":", 1)[1]))
    assert in_help == {name for kind, aliases in registry().items() for name in (kind, *aliases)}
    assert set(supported()) == set(LANGUAGES)


@pytest.mark.no_toolchain
@pytest.mark.parametrize(
    "alias, lang",
    [("rs", "rust"), ("py", "python"), ("ts", "typescript"), ("js", "javascript"), ("golang", "go"),
     ("Rust", "rust"), ("PY", "python")],
)  # fmt: skip
def test_a_cell_may_name_its_language_by_an_alias(alias, lang):
    assert get_language(alias) is LANGUAGES[lang]


@pytest.mark.no_toolchain
@pytest.mark.parametrize("name", ["c", "cpp", "c++", "zig"])
def test_planned_languages_are_refused_at_cell_time(name):
    with pytest.raises(AsteraiError, match="not available yet"):
        get_language(name)


@pytest.mark.no_toolchain
def test_setup_resolves_names_and_aliases_through_the_registry():
    def names(*given: str) -> list[str]:
        return [target.name for target in requirements(given)]

    assert names("Rust") == ["rust"]
    assert names("rs") == ["rust"] and names("py") == ["python"] and names("golang") == ["go"]
    assert names("ts") == names("js") == names("javascript") == ["typescript"]
    assert names("c++") == names("cpp") == ["c"]
    assert names("zig") == ["zig"] and names("browser") == ["browser"]
    assert names("ts", "rust", "js", "typescript") == ["typescript", "rust"]  # each once, in order
    every = {target.name for target in requirements()}
    assert every == {"rust", "python", "typescript", "go", "c", "zig", "browser"}
    for lang in LANGUAGES.values():  # every language built says what set-up installs for it
        assert lang.requirements is not None and lang.requirements.name in every, lang.name
    for name in setup_names():
        requirements([name])


@pytest.mark.no_toolchain
def test_setup_refuses_unknown_names_and_wit_clearly():
    with pytest.raises(AsteraiError, match=r"Unknown language 'cobol'\. Supported: rust, python"):
        requirements(["rust", "cobol"])
    with pytest.raises(AsteraiError, match="`wit` cells build nothing"):
        requirements(["wit"])


def test_a_cell_named_by_its_alias_builds(cell, ns):
    assert "rust component" in cell("rs via_rs", "pub fn by_alias_rs() -> u32 { 3 }\n")
    assert ns["by_alias_rs"]() == 3
    assert "go component" in cell("golang via_golang", "func ByAliasGo() uint32 { return 4 }\n")
    assert ns["by_alias_go"]() == 4
