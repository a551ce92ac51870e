"""The call form and the inspector, driven in-process (the browser test renders and clicks for real)."""

from __future__ import annotations

import pytest

from asterai_kernel import call_form

FORMED = """
/// A point.
pub struct Point { pub x: f64, pub y: f64 }
pub enum Mode { Fast, Careful }
/// Adds two numbers.
pub fn add(a: u8, b: u8) -> u16 { a as u16 + b as u16 }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn label(mode: Mode, name: Option<String>, loud: bool) -> String {
    let n = name.unwrap_or("anon".into());
    match mode { Mode::Fast => if loud { n.to_uppercase() } else { n }, Mode::Careful => format!("careful {n}") }
}
pub fn total(xs: Vec<i64>) -> i64 { println!("summing {}", xs.len()); xs.iter().sum() }
pub fn centroid(points: Vec<Point>) -> Point {
    let n = points.len().max(1) as f64;
    Point { x: points.iter().map(|p| p.x).sum::<f64>() / n, y: points.iter().map(|p| p.y).sum::<f64>() / n }
}
"""


@pytest.fixture
def formed(cell, ns):
    cell("rust formed", FORMED)
    return ns


def test_call_form_generates_fields_and_calls(formed):
    form = call_form("formed")
    assert set(form.forms) == {"add", "mid", "label", "total", "centroid"}
    fields, _, out = form.forms["add"]
    assert [type(f.widget).__name__ for f in fields] == ["IntText", "IntText"]
    fields[0].widget.value, fields[1].widget.value = 200, 100
    assert form.call("add") == 300 and "<code>300</code>" in out.value and " ms</div>" in out.value

    fields, _, out = form.forms["mid"]
    rec_a, rec_b = fields[0].widget.children, fields[1].widget.children
    rec_a[1].value, rec_a[2].value, rec_b[1].value, rec_b[2].value = 0.0, 0.0, 4.0, 2.0
    result = form.call("mid")
    assert (result.x, result.y) == (2.0, 1.0) and "<table>" in out.value and ">x</th>" in out.value

    fields, _, out = form.forms["label"]
    assert fields[0].widget.options == ("fast", "careful")  # enums are dropdowns
    fields[0].widget.value = "fast"
    fields[1].widget.children[0].value = True  # the option is set
    fields[1].widget.children[1].value = "ada"
    fields[2].widget.value = True
    assert form.call("label") == "ADA"

    fields, _, out = form.forms["total"]
    fields[0].widget.value = "[1, 2, 39]"
    assert form.call("total") == 42 and "summing 3" in out.value


def test_call_form_shows_errors_and_follows_reruns(formed, cell):
    form = call_form(formed["formed"])
    fields, _, out = form.forms["total"]
    fields[0].widget.value = "[1, 'two']"
    assert form.call("total") is None
    assert "TypeError: parameter &#x27;xs&#x27;[1] must be an int" in out.value
    fields[0].widget.value = "not python"
    form.call("total")
    assert "is not a Python literal" in out.value
    cell("rust formed", FORMED.replace("xs.iter().sum()", "xs.iter().sum::<i64>() * 10"))
    fields[0].widget.value = "[1, 2]"
    assert form.call("total") == 30  # the form calls the re-run component


def test_call_form_refuses_out_of_range_values_at_the_field(formed):
    """Never a silent clamp or wrap: the field says what is wrong and the export is not called."""
    form = call_form("formed")
    fields, _, out = form.forms["add"]
    fields[0].widget.value, fields[1].widget.value = 300, 1
    assert "300 is out of range for u8 (0 to 255)" in fields[0].message.value  # shown as it is typed
    assert form.call("add") is None
    assert "ValueError: 300 is out of range for u8" in out.value and "<code>" not in out.value
    fields[0].widget.value = -1
    assert form.call("add") is None and "-1 is out of range for u8" in fields[0].message.value
    assert form.problems("add") == ["a: -1 is out of range for u8 (0 to 255)"]
    fields[0].widget.value = 255
    assert fields[0].message.value == "" and form.problems("add") == []  # fixed: the message goes
    assert form.call("add") == 256 and "<code>256</code>" in out.value

    fields, _, out = form.forms["mid"]
    point = fields[0].widget.children
    assert [type(c).__name__ for c in point] == [
        "HTML",
        "FloatText",
        "FloatText",
        "HTML",
        "HTML",
    ]  # messages last

    fields, _, out = form.forms["label"]
    fields[1].widget.children[1].value = "named"
    assert form.problems("label") == []

    fields, _, out = form.forms["total"]
    assert type(fields[0].widget).__name__ == "Textarea"  # a list literal may take several lines
    fields[0].widget.value = "[1,\n 9223372036854775808]"
    assert form.call("total") is None and "OverflowError" in out.value and "summing" not in out.value


def test_a_list_of_records_is_rows_added_and_removed(formed):
    form = call_form("formed")
    fields, _, out = form.forms["centroid"]
    title, rows, add = fields[0].widget.children
    assert "list of point" in title.value and len(rows.children) == 1  # one row to start with

    def point(i):  # row i: its index label, the record's box (title, x, y, messages), its remove button
        return rows.children[i].children[1].children[0].children

    point(0)[1].value, point(0)[2].value = 1.0, 2.0
    add.click()
    add.click()
    point(1)[1].value, point(1)[2].value = 3.0, 4.0
    point(2)[1].value, point(2)[2].value = 100.0, 100.0
    assert [r.children[0].value for r in rows.children] == [
        "<code>[0]</code>",
        "<code>[1]</code>",
        "<code>[2]</code>",
    ]
    rows.children[2].children[2].click()  # remove the third row
    assert len(rows.children) == 2
    result = form.call("centroid")
    assert (result.x, result.y) == (2.0, 3.0)
    rows.children[0].children[2].click()
    rows.children[0].children[2].click()
    assert form.call("centroid").x == 0.0  # no rows: the empty list


def test_inspector_and_help(formed):
    page = formed["formed"]._repr_html_()
    for text in [
        "<b>formed</b>",
        "rust",
        "func(a: u8, b: u8) -&gt; u16",
        "Adds two numbers.",
        "grants",
        "KiB",
    ]:
        assert text in page
    assert formed["add"].__doc__.startswith("add: func(a: u8, b: u8) -> u16\n\nAdds two numbers.")
    assert "add" in dir(formed["formed"]) and "Point" in dir(formed["formed"])
    assert type(call_form("formed").widget).__name__ == "Tab"
    assert (
        "text-align:right" not in page and page.count("<td style='text-align:left") >= 10
    )  # columns line up
