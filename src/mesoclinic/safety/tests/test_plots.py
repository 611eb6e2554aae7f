"""The dashboard's SVG charts (pure): well-formed, accessible, escaped, drawn to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mesoclinic.lib import plots
from mesoclinic.lib.plots import Bar, Column

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (our own output, parsed to check it is well-formed)


def bars(*rows: tuple[str, float | None, str]) -> str:
    return plots.bar_chart([Bar(label=label, value=value, text=text) for label, value, text in rows],
                           title="By lot", desc="Events per 100 sessions", id_prefix="plot-lot",
                           reference=20.0, reference_text="all sessions: 20.00")


def test_bar_chart_is_an_image_with_its_title_and_description():
    root = parse(bars(("HA-1", 40.0, "40.00 per 100 · 2 events / 5 sessions")))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "plot-lot-title plot-lot-desc"
    assert root.find(f"{SVG}title").text == "By lot"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Events per 100 sessions"  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").get("id") == "plot-lot-title"  # type: ignore[union-attr]


def test_bar_chart_writes_each_label_and_its_numbers_as_text():
    root = parse(bars(("HA-1", 40.0, "40.00 per 100 · 2 events / 5 sessions"),
                      ("HA-2", 10.0, "10.00 per 100 · 1 event / 10 sessions")))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["HA-1", "40.00 per 100 · 2 events / 5 sessions",
                     "HA-2", "10.00 per 100 · 1 event / 10 sessions", "all sessions: 20.00"]


def test_bars_are_drawn_to_one_scale():
    root = parse(bars(("A", 40.0, "a"), ("B", 10.0, "b")))
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect") if r.get("class") == "plot-bar"]
    # 40 ends the axis at 50 (a round number): 40 / 50 and 10 / 50 of the bar area.
    assert widths == [pytest.approx(plots.BAR_W * 0.8), pytest.approx(plots.BAR_W * 0.2)]


def test_a_zero_rate_still_shows_its_row():
    root = parse(bars(("Room 3", 0.0, "0.00 per 100 · 0 events / 4 sessions")))
    assert [r.get("class") for r in root.iter(f"{SVG}rect")] == ["plot-bar-zero"]
    assert "0.00 per 100 · 0 events / 4 sessions" in [t.text for t in root.iter(f"{SVG}text")]


def test_markup_in_a_lot_number_is_escaped():
    markup = plots.bar_chart([Bar(label='<script>alert("x")', value=5.0, text="5 & <b>")],
                             title="<Lots> & 'rooms'", desc='"quoted"', id_prefix='x" onload="evil')
    assert "<script" not in markup
    assert "&lt;script&gt;alert(&quot;x&quot;)" in markup
    assert "5 &amp; &lt;b&gt;" in markup
    assert 'onload="evil' not in markup
    root = parse(markup)  # still well-formed, and reads back as the text given
    assert root.find(f"{SVG}title").text == "<Lots> & 'rooms'"  # type: ignore[union-attr]
    assert '<script>alert("x")' in [t.text for t in root.iter(f"{SVG}text")]


def test_no_style_attribute_anywhere():
    """The CSP allows no inline styles: presentation attributes and classes only."""
    markup = bars(("A", 1.0, "a")) + plots.column_chart(
        [Column("Jan 2026", 1.0, "a")], title="t", desc="d", id_prefix="m")
    assert "style=" not in markup
    assert "<style" not in markup


def test_a_long_label_is_shortened_on_the_chart_but_whole_in_its_tooltip():
    long = "Hyaluronic acid 1.5% non-cross-linked, 2 ml"
    root = parse(bars((long, 1.0, "1.00 per 100")))
    label = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "plot-label")
    assert label.text is not None
    assert label.text.endswith("…")
    assert len(label.text) == plots.MAX_LABEL_CHARS
    row_title = next(g for g in root.iter(f"{SVG}g")).find(f"{SVG}title")
    assert row_title is not None
    assert row_title.text == f"{long}: 1.00 per 100"


def test_an_empty_bar_chart_says_so():
    markup = plots.bar_chart([], title="By room", desc="d", id_prefix="r", empty_text="No sessions.")
    assert [t.text for t in parse(markup).iter(f"{SVG}text")] == ["No sessions."]


def test_column_chart_marks_a_month_without_sessions_and_writes_values():
    columns = [Column("Apr 2026", 2.5, "2.50 per 100"), Column("May 2026", None, "no sessions"),
               Column("Jun 2026", 0.0, "0.00 per 100")]
    root = parse(plots.column_chart(columns, title="Month by month", desc="d", id_prefix="m",
                                    axis_text="events per 100 sessions", no_data_text="–"))
    assert root.get("role") == "img"
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "plot-bar"]
    assert len(rects) == 1  # April only: May has no data, June is a zero
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "–" in texts
    assert [t for t in texts if t and t.endswith("2026")] == ["Apr 2026", "May 2026", "Jun 2026"]
    assert "2.5" in texts  # the value over April's column


def test_many_months_label_only_some_columns():
    columns = [Column(f"M{i}", float(i), "") for i in range(36)]
    root = parse(plots.column_chart(columns, title="t", desc="d", id_prefix="m"))
    month_labels = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").startswith("M")]
    assert month_labels == [f"M{i}" for i in range(0, 36, 3)]


@pytest.mark.parametrize(("value", "end"), [(0.0, 1.0), (0.42, 0.5), (1.0, 1.0), (1.2, 2.0), (2.2, 2.5),
                                            (37.5, 50.0), (100.0, 100.0), (101.0, 200.0)])
def test_axis_ends_on_a_round_number(value, end):
    assert plots.nice_ceiling(value) == pytest.approx(end)
