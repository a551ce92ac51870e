"""In a real browser: the JupyterLab extension highlights each `%%asterai LANG` cell in LANG, and widgets work.

A JupyterLab started here (127.0.0.1, a free port, every Jupyter/IPython dir in a temp dir) is driven by
Playwright in Debian's Chromium. `make test` installs both (`asterai setup browser`); the extension itself
ships in the wheel (extension/hatch_build.py). Highlighting is checked by the CodeMirror token classes of the
rendered spans, not only the cells' mime types. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
PLUGIN = "asterai-jupyterlab:highlight"
LANGUAGES = json.loads((ROOT / "extension" / "src" / "languages.json").read_text())["languages"]
# Debian's Chromium, quiet: without the background-networking flags it keeps calling out (refused here).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


# ---------------------------------------------------------------- fixtures: JupyterLab, Chromium, a page


def _missing() -> str:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "PyPI playwright is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing"
    return ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server of our own; yields (base url, token, notebook dir)."""
    if why := _missing():
        message = (
            f"browser tests need Chromium and Playwright ({why}). Install them with: asterai setup browser"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("lab")
    env = {**os.environ}
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):  # fmt: skip
        (tmp / var.lower()).mkdir()
        env[var] = str(tmp / var.lower())
    # No news toast, no update check: nothing may call out, and the toast would cover the notebook.
    settings = tmp / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    notebooks = tmp / "notebooks"
    notebooks.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}", "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (tmp / "lab.log").read_text()[-3000:]
                    raise RuntimeError(f"JupyterLab did not start:\n{tail}") from None
                time.sleep(0.2)
        yield url, token, notebooks
    finally:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """One browser tab on our JupyterLab, recording console errors and any request that leaves the machine."""

    def __init__(self, browser, lab):
        self.url, self.token, self.dir = lab
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)

    def _request(self, request) -> None:
        if not request.url.startswith((self.url, "data:", "blob:")):
            self.outside.append(request.url)

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def wait(self, script: str, arg=None, timeout: float = 60) -> None:
        self.page.wait_for_function(script, arg=arg, timeout=timeout * 1000)

    def open(self, name: str) -> None:
        """Open a notebook of the temp dir and wait until its kernel is idle."""
        self.page.goto(f"{self.url}/lab/tree/{name}?reset&token={self.token}")
        self.wait(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget?.content?.widgets?.length > 0"
        )
        self.wait(
            "() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
            " return s.isReady && s.session?.kernel?.status === 'idle'; }",
            timeout=60,
        )
        assert self.js(f"() => window.jupyterapp.isPluginActivated('{PLUGIN}')"), (
            "the extension is not active"
        )

    def run_all(self, timeout: float = 120) -> None:
        self.js("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.wait(
            "() => { const p = window.jupyterapp.shell.currentWidget;"
            " return p.sessionContext.session.kernel.status === 'idle' && p.content.widgets"
            ".every(c => c.model.type !== 'code' || c.model.executionCount !== null); }",
            timeout=timeout,
        )

    def cells(self) -> list[dict]:
        """Each code cell: source, mime type, output text and its rendered tokens [text, class] (each cell is
        scrolled into view first: CodeMirror renders only what is near the viewport)."""
        return self.js(
            """async () => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
                const cells = [];
                for (const cell of nb.widgets) {
                    if (cell.model.type !== 'code') continue;
                    await nb.scrollToCell(cell);
                    await frame();
                    const spans = cell.node.querySelectorAll('.cm-content .cm-line span');
                    cells.push({
                        source: cell.model.sharedModel.getSource(),
                        mime: cell.model.mimeType,
                        output: cell.outputArea.node.innerText,
                        tokens: Array.from(spans, s => [s.textContent, s.className]),
                    });
                }
                return cells;
            }"""
        )

    def kernel_expression(self, expr: str) -> str:
        """Evaluate a Python expression in the notebook's kernel (user_expressions); its text/plain repr."""
        return self.js(
            """async (expr) => {
                const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                const reply = await kernel.requestExecute({code: '', silent: true, user_expressions: {v: expr}}).done;
                const v = reply.content.user_expressions.v;
                return v.status === 'ok' ? v.data['text/plain'] : `${v.ename}: ${v.evalue}`;
            }""",
            expr,
        )

    def screenshot(self, name: str, first_code_cell: bool = False) -> None:
        if first_code_cell:  # show the notebook from its first code cell
            self.js(
                """async () => {
                    const nb = window.jupyterapp.shell.currentWidget.content;
                    await nb.scrollToCell(nb.widgets.find(c => c.model.type === 'code'), 'start');
                }"""
            )
            self.page.wait_for_timeout(200)
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self) -> None:
        try:  # stop this notebook's kernel now rather than at server exit (2 cores are shared)
            self.js("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.shutdown()")
        except Exception:  # noqa: BLE001 (the page may be gone; the server stops its kernels anyway)
            pass
        self.page.close()

    def assert_clean(self) -> None:
        assert not self.errors, f"console errors: {self.errors}"
        assert not self.outside, f"requests that left 127.0.0.1: {self.outside}"


@pytest.fixture
def page(browser, lab):
    p = Page(browser, lab)
    yield p
    p.close()


def write_notebook(folder: Path, name: str, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "asterai", "display_name": "Asterai", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, folder / name)


def classes_of(tokens: list[list[str]], text: str) -> list[str]:
    return [cls for t, cls in tokens if t == text]


def keyword_class(cells: list[dict]) -> str:
    """The class JupyterLab's highlight style gives keywords, read off a Python keyword of a plain cell."""
    for cell in cells:
        if cell["mime"] == "text/x-ipython":
            for word in ("import", "try", "def", "from"):
                if found := classes_of(cell["tokens"], word):
                    return found[0]
    raise AssertionError("no Python keyword rendered in any plain cell")


# ---------------------------------------------------------------- the tests

# The mime type each language's cells get (JupyterLab's registry has no Zig: plain text, as for WIT).
MIMES = {
    "rust": "text/x-rustsrc", "python": "text/x-python", "javascript": "text/javascript",
    "typescript": "application/typescript", "c": "text/x-csrc", "cpp": "text/x-c++src", "go": "text/x-go",
    "zig": "text/plain", "wit": "text/plain",
}  # fmt: skip
# Sets the active cell's source to each of the given texts in turn, synchronously.
SET_SOURCE = """(sources) => {
    const cell = window.jupyterapp.shell.currentWidget.content.activeCell;
    for (const source of sources) cell.model.sharedModel.setSource(source);
}"""


def test_tutorial_cells_are_highlighted_in_their_language(page):
    """01-rust-basics opened from disk and run: Rust cells carry Rust's token classes, Python cells Python's."""
    shutil.copy(ROOT / "notebooks" / "01-rust-basics.ipynb", page.dir)
    page.open("01-rust-basics.ipynb")
    reported = page.js(
        "async () => (await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.info).asterai"
    )
    assert "rust" in reported["languages"] and set(reported["languages"]) <= set(LANGUAGES)
    page.run_all()
    cells = page.cells()
    by_first_line = {c["source"].split("\n", 1)[0]: c for c in cells}
    assert by_first_line['print(word_count("the quick brown fox"))']["output"].startswith("4\n")

    keyword = keyword_class(cells)
    rust = [c for c in cells if c["source"].startswith("%%asterai rust")]
    plain = [c for c in cells if not c["source"].startswith("%%")]
    assert len(rust) >= 5 and len(plain) >= 4
    for cell in rust:
        assert cell["mime"] == "text/x-rustsrc", cell["source"][:40]
        for word in ("pub", "fn"):  # Rust keywords, plain names to Python
            assert classes_of(cell["tokens"], word), (word, cell["source"][:40])
            assert set(classes_of(cell["tokens"], word)) == {keyword}, (word, cell["tokens"])
    doc = [cls for t, cls in by_first_line["%%asterai rust geo"]["tokens"] if t.startswith("/// Counts")]
    assert doc and doc[0] != keyword  # a Rust doc comment is one comment token (Python: three operators)
    for cell in plain:
        assert cell["mime"] == "text/x-ipython", cell["source"][:40]
        assert "pub" not in cell["source"]
    assert any("cm-builtin" in classes_of(c["tokens"], "print") for c in plain)  # IPython's builtins
    page.screenshot("01-rust-basics.png", first_code_cell=True)
    page.assert_clean()


def test_typing_the_magic_switches_a_new_cell(page):
    """A new cell typed by hand: TypeScript once `%%asterai typescript` is typed, Rust after changing it,
    Python again when the magic line is deleted."""
    write_notebook(page.dir, "typing.ipynb", "import math")
    page.open("typing.ipynb")
    kb = page.page.keyboard

    def state() -> dict:
        return page.cells()[-1]

    def wait_mime(mime: str) -> dict:
        page.wait(
            "(m) => window.jupyterapp.shell.currentWidget.content.activeCell.model.mimeType === m", mime
        )
        return state()

    def wait_keywords(keyword: str, **is_keyword: bool) -> dict:
        """Until the editor has re-highlighted: each word is (or is not) shown as a keyword."""
        page.wait(
            """([k, expect]) => {
                const spans = Array.from(document.querySelectorAll('.jp-mod-active .cm-line span'));
                return Object.entries(expect).every(
                    ([w, kw]) => spans.some(s => s.textContent === w && s.className === k) === kw);
            }""",
            [keyword, is_keyword],
        )
        return state()

    page.page.locator(".jp-Cell .cm-content").first.click()
    kb.press("Escape")
    kb.press("b")  # a new cell below
    kb.press("Enter")
    kb.type("export const answer: number = 42")
    wait_mime("text/x-ipython")
    keyword = keyword_class(page.cells())
    cell = wait_keywords(keyword, export=False, const=False)
    assert keyword not in classes_of(cell["tokens"], "export") + classes_of(cell["tokens"], "const")

    kb.press("Control+Home")
    kb.type("%%asterai typescript")
    page.page.wait_for_timeout(300)
    assert state()["mime"] == "text/x-ipython"  # the magic counts once its line is complete
    kb.press("Enter")
    cell = wait_mime("application/typescript")
    page.wait(
        "(k) => Array.from(document.querySelectorAll('.jp-mod-active .cm-line span'))"
        ".some(s => s.textContent === 'export' && s.className === k)",
        keyword,
    )
    cell = state()
    assert cell["source"] == "%%asterai typescript\nexport const answer: number = 42"
    assert set(classes_of(cell["tokens"], "export")) == {keyword}
    assert set(classes_of(cell["tokens"], "const")) == {keyword}
    page.screenshot("typing-typescript.png")

    kb.press("Control+Home")
    kb.press("Shift+End")
    kb.type("%%asterai rust")  # change the language: `const` stays a keyword, `export` is not Rust's
    wait_mime("text/x-rustsrc")
    cell = wait_keywords(keyword, export=False, const=True)
    assert set(classes_of(cell["tokens"], "const")) == {keyword}
    assert keyword not in classes_of(cell["tokens"], "export")

    kb.press("Control+Home")
    kb.press("Shift+End")
    kb.press("Backspace")
    kb.press("Delete")  # the magic line is gone: IPython again
    wait_mime("text/x-ipython")
    cell = wait_keywords(keyword, export=False, const=False)
    assert cell["source"] == "export const answer: number = 42"
    assert keyword not in classes_of(cell["tokens"], "export") + classes_of(cell["tokens"], "const")

    # Edits faster than languages load (C++, JavaScript and Go have not loaded yet in this page): the last
    # edit wins, whatever order the loads finish in.
    sources = [f"%%asterai {w}\nfunc f() int {{ return 1 }}\n" for w in ("cpp", "js", "c++", "go")]
    page.js(SET_SOURCE, sources)
    wait_mime("text/x-go")
    page.page.wait_for_timeout(500)  # a load still pending would land now
    cell = wait_keywords(keyword, func=True)
    assert cell["mime"] == "text/x-go"
    assert set(classes_of(cell["tokens"], "func")) == {keyword}
    # Every name and alias of the table, set as the cell's source one at a time.
    for name, entry in LANGUAGES.items():
        for word in (name, *entry["aliases"]):
            page.js(SET_SOURCE, [f"%%asterai {word} n\nx\n"])
            wait_mime(MIMES[name])
    page.assert_clean()


def test_a_widget_renders_and_a_click_reaches_the_kernel(page):
    # The call form of a component: pressing Call in the browser runs the export in the kernel.
    write_notebook(
        page.dir,
        "widgets.ipynb",
        "%%asterai rust clicker\npub fn triple(x: u32) -> u32 { x * 3 }\n",
        "import asterai_kernel\n"
        "form = asterai_kernel.call_form('clicker')\n"
        "form.forms['triple'][0][0].widget.value = 14\n"
        "form",
    )
    page.open("widgets.ipynb")
    page.run_all()
    button = page.page.locator(".jp-OutputArea button.widget-button")
    button.wait_for(timeout=60_000)
    assert button.inner_text() == "Call triple"
    assert page.kernel_expression("form.forms['triple'][2].value") == "''"
    button.click()
    result = page.page.locator(".jp-OutputArea .widget-html code", has_text="42")
    result.wait_for(timeout=60_000)  # the result came back from the kernel and is shown in the page
    assert "<code>42</code>" in page.kernel_expression("form.forms['triple'][2].value")
    # A number too big for the parameter's u32, typed in the page: the message shows under the field at once,
    # and Call does not call.
    field = page.page.locator(".jp-OutputArea .widget-text input").first
    field.fill("5000000000")
    field.press("Enter")
    message = page.page.locator(".jp-OutputArea .widget-html", has_text="out of range for u32")
    message.wait_for(timeout=60_000)
    button.click()
    page.page.locator(".jp-OutputArea .widget-html", has_text="ValueError").wait_for(timeout=60_000)
    assert page.kernel_expression("form.forms['triple'][0][0].widget.value") == "5000000000"  # not clamped
    page.screenshot("widgets.png")
    page.assert_clean()


def test_a_list_of_records_gets_rows_and_the_inspector_lines_up(page):
    # A list<record> parameter is rows of fields: "add a row" in the page adds one in the kernel's form.
    write_notebook(
        page.dir,
        "rows.ipynb",
        "%%asterai rust basket\n/// An item in the basket.\npub struct Item { pub name: String, pub qty: u16 }\n"
        "/// How many items in all.\npub fn count(items: Vec<Item>) -> u32 {\n"
        "    items.iter().map(|i| i.qty as u32).sum()\n}\n",
        "basket",
        "import asterai_kernel\nform = asterai_kernel.call_form('basket')\nform",
    )
    page.open("rows.ipynb")
    page.run_all()
    add = page.page.locator(".jp-OutputArea button.widget-button", has_text="add a row")
    add.wait_for(timeout=60_000)
    rows = "len(form.forms['count'][0][0].widget.children[1].children)"
    assert page.kernel_expression(rows) == "1"
    add.click()
    page.page.locator(".jp-OutputArea .widget-html code", has_text="[1]").wait_for(timeout=60_000)
    assert page.kernel_expression(rows) == "2"
    # The inspector's tables: every cell aligned left, whatever JupyterLab's stylesheet says.
    aligns = page.js(
        """() => [...document.querySelectorAll('.jp-OutputArea td, .jp-OutputArea th')]
                .map(c => getComputedStyle(c).textAlign)"""
    )
    assert aligns and set(aligns) == {"left"}, aligns
    page.screenshot("rows-and-inspector.png", first_code_cell=True)
    page.assert_clean()


@pytest.mark.parametrize("tutorial", ["00-welcome", "07-widgets"])
def test_a_tutorial_runs_clean_in_the_browser(page, tutorial):
    # What a newcomer sees first: the tutorial run in JupyterLab, no error and nothing on stderr (progress is a
    # display replaced by the summary), screenshots from the top and of its end.
    shutil.copy(ROOT / "notebooks" / f"{tutorial}.ipynb", page.dir)
    page.open(f"{tutorial}.ipynb")
    page.run_all(timeout=300)
    outputs = page.js(
        """() => [...document.querySelectorAll('.jp-OutputArea-output')]
                .map(o => o.getAttribute('data-mime-type') || '')"""
    )
    assert outputs and "application/vnd.jupyter.stderr" not in outputs, outputs
    assert not page.page.locator(".jp-OutputArea-output .ansi-red-fg").count()  # no traceback
    page.screenshot(f"{tutorial}-top.png", first_code_cell=True)
    page.js(
        """async () => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            await nb.scrollToCell(nb.widgets[nb.widgets.length - 1], 'end');
        }"""
    )
    page.page.wait_for_timeout(200)
    page.screenshot(f"{tutorial}-end.png")
    page.assert_clean()
