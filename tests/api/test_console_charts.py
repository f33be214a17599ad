"""The statistics page's SVG charts (``shiren.api.console.charts``): well-formed, accessible, drawable
under the console's CSP (no style attribute, no <style>, no script), every text escaped, and a chart that
says so when the period has no data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from shiren.api.console.charts import (
    Bar,
    BarLabels,
    DailyLabels,
    bar_chart,
    daily_chart,
    failure_chart,
    latency_chart,
    pass_rate_chart,
)
from shiren.services.console.stats import DayCount, FailureCount, Latency, SceneCount

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
EN = DailyLabels("Verifications per day", "Passed", "Failed", "Held", "Total", "No data for this period")
ZH = DailyLabels("每日核验量", "通过", "未通过", "待审核", "合计", "所选时段没有数据", "核验次数")
BARS = BarLabels("Failure reasons", "No failures in this period")


def days(n: int = 3, first: date = date(2024, 3, 1)) -> list[DayCount]:
    return [DayCount(first + timedelta(days=i), 6 + i, 4 + i, 1, 1) for i in range(n)]


def parse(svg: Markup) -> ET.Element:
    """The chart as XML, checked for what every chart must have and must not have."""
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("width") == "100%" and root.get("viewBox")
    chart_id = root.get("id")
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id")) == (f"{SVG}title", f"{chart_id}-title")
    assert (desc.tag, desc.get("id")) == (f"{SVG}desc", f"{chart_id}-desc")
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    assert (title.text or "").strip() and (desc.text or "").strip()
    for element in root.iter():
        assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
        assert "style" not in element.attrib
        assert not [name for name in element.attrib if name.lower().startswith("on")]
        assert not any("javascript:" in value for value in element.attrib.values())
    return root


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    """The drawn texts (of one class), without their tooltips."""
    return [
        "".join(t.itertext()).replace("".join(t[0].itertext()) if len(t) else "", "", 1)
        for t in root.iter(f"{SVG}text")
        if cls is None or cls in (t.get("class") or "").split()
    ]


def desc(root: ET.Element) -> str:
    return root[1].text or ""


def test_the_daily_chart_stacks_passed_failed_held() -> None:
    root = parse(daily_chart("daily", days(), EN))
    assert "chart-daily" in (root.get("class") or "")
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-day"]
    assert len(groups) == 3
    assert [r.get("class") for r in groups[0].iter(f"{SVG}rect")] == ["bar-passed", "bar-failed", "bar-held"]
    # Colour is not the only signal: failed bars are hatched, held ones dotted, each defined here.
    fills = {r.get("class"): r.get("fill") for r in groups[0].iter(f"{SVG}rect")}
    assert fills["bar-failed"] == "url(#daily-failed)" and fills["bar-held"] == "url(#daily-held)"
    patterns = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert patterns == {"daily-failed", "daily-held"}
    assert texts(root, "chart-legend") == ["Passed 15", "Failed 3", "Held 3"]
    assert texts(root, "chart-value") == ["6", "7", "8"]  # each day's total above its bar
    assert "2024-03-01" in texts(root, "chart-axis")
    assert "0" in texts(root, "chart-axis")  # the y axis starts at zero
    assert "2024-03-02: Total 7, Passed 5, Failed 1, Held 1" in desc(root)
    assert desc(root).startswith("2024-03-01 – 2024-03-03: Total 21, Passed 15, Failed 3, Held 3")


def test_the_daily_chart_speaks_the_pages_language() -> None:
    root = parse(daily_chart("zh-daily", days(), ZH))
    assert root[0].text == "每日核验量"
    assert texts(root, "chart-legend") == ["通过 15", "未通过 3", "待审核 3"]
    assert "核验次数" in texts(root, "chart-axis-title")
    assert "合计 7" in desc(root)


def test_a_quarter_of_days_keeps_its_labels_apart() -> None:
    quarter = days(92, date(2024, 11, 1))
    root = parse(daily_chart("q", quarter, EN))
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-day"]) == 92
    dates = [t for t in texts(root, "chart-axis") if "-" in t]
    assert 8 <= len(dates) <= 11
    assert dates[0] == "2024-11-01" and "2025-01-10" in dates  # the year shows again when it changes
    assert texts(root, "chart-value") == []  # too many bars to write each total: the axis tells


def test_an_empty_period_says_no_data() -> None:
    empty = [DayCount(date(2024, 3, 1) + timedelta(days=i), 0, 0, 0, 0) for i in range(7)]
    for svg in (
        daily_chart("e1", empty, EN),
        daily_chart("e2", [], EN),
        failure_chart("e3", [], BARS),
        pass_rate_chart("e4", [], BarLabels("Pass rate per scene", "No data for this period")),
        latency_chart("e5", Latency(0, None, None), BarLabels("Decision time", "No data for this period")),
    ):
        root = parse(svg)
        assert "chart-no-data" in (root.get("class") or "")
        assert texts(root, "chart-empty") == [desc(root)]
        assert desc(root) in ("No data for this period", "No failures in this period")
        assert not list(root.iter(f"{SVG}pattern"))


def test_a_hostile_scene_name_is_text() -> None:
    scenes = [
        SceneCount(1, HOSTILE, f'"{HOSTILE}" & <b>', 10, 6, 2, 2, 0.75),
        SceneCount(2, "Plain", "", 3, 0, 0, 3, None),
    ]
    svg = pass_rate_chart("rates", scenes, BarLabels(HOSTILE, "none", summary="Held ones are left out."))
    assert "<script" not in str(svg) and "<b>" not in str(svg)
    root = parse(svg)
    assert root[0].text == HOSTILE
    labels = texts(root, "chart-label")
    assert labels[0] == f'{HOSTILE} — "{HOSTILE}" & <b>'
    assert texts(root, "chart-value") == ["75.0% (6/8)", "—"]  # all held: no rate
    assert desc(root).startswith("Held ones are left out. ")
    assert f"{HOSTILE} — " in desc(root)


def test_hostile_labels_and_ids() -> None:
    hostile = DailyLabels(HOSTILE, f'"{HOSTILE}', "<i>", "&amp;", "]]>", "x")
    svg = daily_chart("d", days(1), hostile)
    assert "<script" not in str(svg) and "<i>" not in str(svg)
    root = parse(svg)
    assert texts(root, "chart-legend")[0] == f'"{HOSTILE} 4'
    with pytest.raises(ValueError):
        daily_chart('x" onload="alert(1)', days(1), EN)
    with pytest.raises(ValueError):
        bar_chart("ok", [Bar("a", 1, "1")], BARS, tone="url(#evil)")


def test_failure_reasons_are_hatched_bars_with_counts_and_shares() -> None:
    failures = [
        FailureCount(6, "the face does not match the ID card portrait", 3),
        FailureCount(9, "liveness check failed", 1),
    ]
    root = parse(failure_chart("fail", failures, BARS))
    assert texts(root, "chart-label") == [
        "6 · the face does not match the ID card portrait",
        "9 · liveness check failed",
    ]
    assert texts(root, "chart-value") == ["3 (75.0%)", "1 (25.0%)"]
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar-failed"]
    assert [b.get("fill") for b in bars] == ["url(#fail-failed)"] * 2
    assert float(bars[0].get("width") or 0) == pytest.approx(3 * float(bars[1].get("width") or 0), abs=0.5)
    zh = parse(failure_chart("fail-zh", failures, BARS, messages={9: "活体检测未通过"}))
    assert texts(zh, "chart-label")[1] == "9 · 活体检测未通过"


def test_long_labels_are_cut_with_the_full_text_kept() -> None:
    long_name = "场景" * 80
    root = parse(bar_chart("long", [Bar(long_name, 5, "5")], BARS))
    label = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label")
    assert label[0].tag == f"{SVG}title" and label[0].text == long_name  # the tooltip
    shown = texts(root, "chart-label")[0]
    assert shown.endswith("…") and len(shown) < len(long_name)
    assert long_name in desc(root)


def test_the_latency_chart() -> None:
    root = parse(
        latency_chart("lat", Latency(120, 812.4, 2950.0), BarLabels("Decision time", "none"), p50="中位数")
    )
    assert texts(root, "chart-label") == ["中位数", "p95"]
    assert texts(root, "chart-value") == ["812 ms", "2,950 ms"]
