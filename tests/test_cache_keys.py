"""A component's cache key follows every source file that generates its glue, so an upgrade never serves a
stale build: the language's own modules and every shared module they import (directly or not)."""

from __future__ import annotations

import shutil
import uuid

import pytest

from asterai_kernel.build import sources
from asterai_kernel.languages import LANGUAGES


def plugin_module(lang: str) -> str:
    return type(LANGUAGES[lang]).__module__


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package's sources to change, as an upgrade would."""
    copy = tmp_path / sources.PACKAGE
    shutil.copytree(sources.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.no_toolchain
def test_shared_helpers_are_in_every_languages_key():
    for lang in LANGUAGES:
        names = {p.name for p in sources.closure(plugin_module(lang))}
        assert {"base.py", "names.py", "wit.py"} <= names, lang
    for lang in ("rust", "typescript", "go"):  # the plugins that read signatures with tree-sitter
        assert "treesitter.py" in {p.name for p in sources.closure(plugin_module(lang))}, lang


@pytest.mark.no_toolchain
def test_each_languages_key_covers_its_package_and_no_other():
    packages = {plugin_module(lang).split(".")[-2] for lang in LANGUAGES}  # rust, python, typescript, go
    for lang in LANGUAGES:
        package = plugin_module(lang).split(".")[-2]
        files = {f"{p.parent.name}/{p.name}" for p in sources.closure(plugin_module(lang))}
        for part in ("plugin.py", "signatures.py", "exports.py", "imports.py", "toolchain.py"):
            assert f"{package}/{part}" in files, (lang, part)
        extra = {"go": "go/wasm.py", "javascript": "typescript/jsdoc.py"}.get(lang)
        assert extra is None or extra in files, lang
        assert {f.split("/")[0] for f in files} & packages == {package}, lang  # no other language's


@pytest.mark.no_toolchain
@pytest.mark.parametrize(
    "helper",
    ["names.py", "languages/treesitter.py", "languages/base.py", "wit.py", "toolchains.py",
     "languages/rust/exports.py", "languages/go/imports.py", "languages/python/imports.py",
     "languages/typescript/jsdoc.py"],
)  # fmt: skip
def test_changing_a_shared_helper_changes_the_key(package_copy, helper):
    def keys():
        return {
            lang: sources.fingerprint(sources.closure(plugin_module(lang), package_copy))
            for lang in LANGUAGES
        }

    before = keys()
    assert before["rust"] == sources.fingerprint(
        sources.closure(plugin_module("rust"))
    )  # the copy is faithful
    with open(package_copy / helper, "a") as f:
        f.write("\n# a change an upgrade could bring\n")
    after = keys()
    users = [
        lang
        for lang in LANGUAGES
        if (package_copy / helper) in sources.closure(plugin_module(lang), package_copy)
    ]
    assert users, helper
    for lang in LANGUAGES:
        assert (after[lang] != before[lang]) == (lang in users), (helper, lang)


@pytest.mark.no_toolchain
def test_a_module_no_glue_comes_from_leaves_the_key_alone(package_copy):
    before = sources.fingerprint(sources.closure(plugin_module("rust"), package_copy))
    with open(package_copy / "widgets.py", "a") as f:
        f.write("\n# a widget changed\n")
    assert sources.fingerprint(sources.closure(plugin_module("rust"), package_copy)) == before


def test_a_changed_helper_rebuilds_the_cell(cell, package_copy, monkeypatch):
    src = "pub fn keyed() -> u32 { 7 }\n"
    cell("rust keyed", src)
    assert "keyed (replaced): rust component, from cache" in cell("rust keyed", src)
    with open(package_copy / "names.py", "a") as f:
        # A change never seen before: the cache outlives the run, and a change made by an earlier run would
        # find that run's build under its key.
        f.write(f"\n# how glue spells names changed ({uuid.uuid4().hex})\n")
    monkeypatch.setattr(sources, "PACKAGE_DIR", package_copy)
    sources.module_fingerprint.cache_clear()
    try:
        assert "keyed (replaced): rust component, built in" in cell("rust keyed", src)
    finally:
        monkeypatch.undo()
        sources.module_fingerprint.cache_clear()
    assert "keyed (replaced): rust component, from cache" in cell("rust keyed", src)
