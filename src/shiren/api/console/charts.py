"""The statistics page's charts: SVG written here, embedded in the page, no script and no chart library.

The console's CSP allows no inline style, so every chart is drawn with presentation attributes (fill,
stroke, font-size…) and carries class names the console's stylesheet may override. Each chart is an
image to assistive technology (``role="img"``, labelled by its ``<title>`` and a ``<desc>`` that states
every figure); colour is never the only signal: failed bars are hatched, held ones dotted, the legend and
the values are written out. Every text comes in as a parameter (the page passes its language's words)
and is escaped, scene names included. ``viewBox`` with ``width="100%"`` lets a chart scale from a tablet
to a laptop; an empty period draws a chart that says there is no data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from math import ceil, floor, log10

from markupsafe import Markup

from shiren.domain.decision import STATUS_MESSAGES
from shiren.services.console.stats import DayCount, FailureCount, Latency, SceneCount, Statistics

WIDTH = 720
FONT = "system-ui, sans-serif"
INK = "#333333"
GRID = "#d9d9d9"
TRACK = "#eeeeee"
# Pass green, fail red, held amber (each also told apart by pattern and by its written label).
COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "held": "#f9a825", "neutral": "#546e7a"}
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")
SEGMENTS = ("passed", "failed", "held")  # bottom to top


@dataclass(frozen=True)
class DailyLabels:
    """The words of the per-day chart, in the page's language."""

    title: str
    passed: str
    failed: str
    held: str
    total: str
    no_data: str
    y_axis: str = ""


@dataclass(frozen=True)
class BarLabels:
    """The words of a horizontal bar chart; ``summary`` opens its description (e.g. how a rate is
    computed)."""

    title: str
    no_data: str
    summary: str = ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # in the chart's scale: a count, a rate in 0..1, milliseconds
    text: str  # the figure written next to the bar and in the description


# --- SVG writing -------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


_join = Markup("").join


def _tag(name: str, attrs: Mapping[str, object], *content: Markup | str) -> Markup:
    """One element. Every attribute value and every ``str`` content is escaped by ``Markup.format``;
    only ``Markup`` built by these helpers goes in as it is, so no text can open a tag."""
    attributes = _join(
        Markup(' {}="{}"').format(key, _num(v) if isinstance(v, float) else str(v))
        for key, v in attrs.items()
        if v is not None
    )
    if not content:
        return Markup("<{}{}/>").format(name, attributes)
    return Markup("<{}{}>{}</{}>").format(name, attributes, _join(content), name)


def _text(
    x: float, y: float, text: str, cls: str, *, size: int = 12, anchor: str = "start", **more: object
) -> Markup:
    return _tag("text", {**_text_attrs(x, y, cls, size), "text-anchor": anchor, **more}, text)


def _text_attrs(x: float, y: float, cls: str, size: int) -> dict[str, object]:
    return {"x": float(x), "y": float(y), "class": cls, "font-family": FONT, "font-size": size, "fill": INK}


def _tip(text: str) -> Markup:
    """A tooltip (an element's own ``<title>``)."""
    return _tag("title", {}, text)


def _text_width(text: str, size: int) -> float:
    """Roughly how wide ``text`` draws: CJK characters are square, Latin ones about 0.6 of the size."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _fit(text: str, size: int, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` (its full text stays in the tooltip)."""
    if _text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _check_id(chart_id: str) -> None:
    """The id names the chart's title, description and patterns: unique on the page, safe in ``url()``."""
    if not ID_RE.match(chart_id):
        raise ValueError("a chart id is a letter then up to 40 letters, digits, '-' or '_'")


def _svg(chart_id: str, kind: str, height: float, title: str, desc: str, body: Markup) -> Markup:
    return _tag(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {_num(height)}",
            "width": "100%",
            "preserveAspectRatio": "xMidYMid meet",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": f"shiren-chart chart-{kind}",
            "id": chart_id,
        },
        _tag("title", {"id": f"{chart_id}-title"}, title),
        _tag("desc", {"id": f"{chart_id}-desc"}, desc),
        body,
    )


def _defs(chart_id: str) -> Markup:
    """The hatching of failed bars and the dots of held ones, so colour is not the only signal."""
    failed = _tag(
        "pattern",
        {
            "id": f"{chart_id}-failed",
            "patternUnits": "userSpaceOnUse",
            "width": 6,
            "height": 6,
            "patternTransform": "rotate(45)",
        },
        _tag("rect", {"width": 6, "height": 6, "fill": COLOURS["failed"]}),
        _tag("line", {"x1": 0, "y1": 0, "x2": 0, "y2": 6, "stroke": "#ffffff", "stroke-width": 2}),
    )
    held = _tag(
        "pattern",
        {"id": f"{chart_id}-held", "patternUnits": "userSpaceOnUse", "width": 6, "height": 6},
        _tag("rect", {"width": 6, "height": 6, "fill": COLOURS["held"]}),
        _tag("circle", {"cx": 3, "cy": 3, "r": 1.2, "fill": "#5d4037"}),
    )
    return _tag("defs", {}, failed, held)


def _fill(chart_id: str, tone: str) -> str:
    return f"url(#{chart_id}-{tone})" if tone in ("failed", "held") else COLOURS[tone]


def _empty(chart_id: str, kind: str, title: str, no_data: str) -> Markup:
    height = 120.0
    frame = _tag(
        "rect",
        {
            "x": 0.5,
            "y": 0.5,
            "width": WIDTH - 1,
            "height": height - 1,
            "fill": "none",
            "stroke": GRID,
            "class": "chart-frame",
        },
    )
    message = _text(WIDTH / 2, height / 2 + 5, no_data, "chart-empty", size=16, anchor="middle")
    return _svg(chart_id, f"{kind} chart-no-data", height, title, no_data, frame + message)


def _nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """A round top of the scale at or above ``value`` and its tick step (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / ticks
    power = 10 ** floor(log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1:
        step = 1.0
    return step * ceil(value / step), float(step)


def _count(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


# --- the per-day stacked bars ------------------------------------------------------------------------


def daily_chart(chart_id: str, days: Sequence[DayCount], labels: DailyLabels) -> Markup:
    """Verifications per day, stacked passed (solid green), failed (hatched red), held (dotted amber)."""
    _check_id(chart_id)
    if not days or not any(d.total for d in days):
        return _empty(chart_id, "daily", labels.title, labels.no_data)
    left, right, top, bottom, height = 64.0, 16.0, 44.0, 40.0, 320.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value, step = _nice_max(max(d.total for d in days))
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.7)
    body = [_defs(chart_id), _legend(chart_id, days, labels)]
    body.append(_y_axis(left, top, plot_w, plot_h, top_value, step, labels.y_axis))
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        body.append(_stack(chart_id, day, labels, x, bar_w, top + plot_h, plot_h / top_value))
        if len(days) <= 31 and day.total:
            y = top + plot_h - day.total * plot_h / top_value - 4
            body.append(_text(x + bar_w / 2, y, _count(day.total), "chart-value", size=10, anchor="middle"))
    body.append(_x_axis(days, left, slot, top + plot_h))
    return _svg(chart_id, "daily", height, labels.title, _daily_desc(days, labels), _join(body))


def _stack(
    chart_id: str, day: DayCount, labels: DailyLabels, x: float, width: float, base: float, scale: float
) -> Markup:
    """One day's bar: a group of up to three segments, each with its figure as a tooltip."""
    parts: list[Markup] = []
    y = base
    for tone in SEGMENTS:
        value = getattr(day, tone)
        if not value:
            continue
        h = value * scale
        y -= h
        attrs = {
            "x": x,
            "y": y,
            "width": width,
            "height": h,
            "fill": _fill(chart_id, tone),
            "class": f"bar-{tone}",
        }
        parts.append(_tag("rect", attrs, _tip(f"{day.day.isoformat()} — {getattr(labels, tone)} {value:,}")))
    tip = _tip(f"{day.day.isoformat()} — {labels.total} {day.total:,}")
    return _tag("g", {"class": "chart-day"}, tip, *parts)


def _legend(chart_id: str, days: Sequence[DayCount], labels: DailyLabels) -> Markup:
    x, parts = 64.0, list[Markup]()
    for tone in SEGMENTS:
        text = f"{getattr(labels, tone)} {sum(getattr(d, tone) for d in days):,}"
        swatch = {
            "x": x,
            "y": 12,
            "width": 14,
            "height": 14,
            "fill": _fill(chart_id, tone),
            "class": f"bar-{tone}",
        }
        parts.append(_tag("rect", swatch) + _text(x + 20, 24, text, "chart-legend", size=13))
        x += 20 + _text_width(text, 13) + 24
    return _tag("g", {"class": "chart-legend"}, *parts)


def _y_axis(
    left: float, top: float, plot_w: float, plot_h: float, top_value: float, step: float, title: str
) -> Markup:
    parts: list[Markup] = []
    ticks = int(round(top_value / step))
    for i in range(ticks + 1):
        y = top + plot_h - i * plot_h / ticks
        line = {"x1": left, "y1": y, "x2": left + plot_w, "y2": y, "stroke": GRID, "class": "chart-grid"}
        parts.append(_tag("line", line))
        parts.append(_text(left - 6, y + 4, _count(i * step), "chart-axis", size=11, anchor="end"))
    if title:
        cy = top + plot_h / 2
        parts.append(
            _text(
                14,
                cy,
                title,
                "chart-axis-title",
                size=12,
                anchor="middle",
                transform=f"rotate(-90 14 {_num(cy)})",
            )
        )
    return _tag("g", {"class": "chart-axis"}, *parts)


def _x_axis(days: Sequence[DayCount], left: float, slot: float, base: float) -> Markup:
    """The baseline and about ten day labels (MM-DD; the first one of each year shows the year too)."""
    every = max(1, ceil(len(days) / 10))
    line = {
        "x1": left,
        "y1": base,
        "x2": left + slot * len(days),
        "y2": base,
        "stroke": INK,
        "class": "chart-baseline",
    }
    parts = [_tag("line", line)]
    for i in range(0, len(days), every):
        label = _day_label(days[i].day, days[i - every].day if i else None)
        parts.append(_text(left + (i + 0.5) * slot, base + 18, label, "chart-axis", size=11, anchor="middle"))
    return _tag("g", {"class": "chart-axis"}, *parts)


def _day_label(day: date, previous: date | None) -> str:
    """MM-DD; the first label, and the first of a new year, show the year too."""
    return day.isoformat() if previous is None or previous.year != day.year else day.strftime("%m-%d")


def _daily_desc(days: Sequence[DayCount], labels: DailyLabels) -> str:
    totals = {tone: sum(getattr(d, tone) for d in days) for tone in ("total", *SEGMENTS)}
    head = f"{days[0].day.isoformat()} – {days[-1].day.isoformat()}: " + ", ".join(
        f"{getattr(labels, tone)} {totals[tone]:,}" for tone in ("total", *SEGMENTS)
    )
    rows = [
        f"{d.day.isoformat()}: {labels.total} {d.total:,}, {labels.passed} {d.passed:,}, "
        f"{labels.failed} {d.failed:,}, {labels.held} {d.held:,}"
        for d in days
        if d.total
    ]
    return "; ".join([head, *rows]) + "."


# --- horizontal bars ---------------------------------------------------------------------------------


def bar_chart(
    chart_id: str, bars: Sequence[Bar], labels: BarLabels, *, tone: str = "neutral", rate: bool = False
) -> Markup:
    """One row per bar: its label on a line of its own (long scene names and reasons stay readable on a
    tablet), then the bar and its figure. ``rate``: values are 0..1 on a fixed 0-100 % scale, drawn over
    a grey track; else counts from 0 to a round maximum. ``tone``: passed, failed, held or neutral."""
    _check_id(chart_id)
    if tone not in COLOURS:
        raise ValueError(f"tone is one of {', '.join(COLOURS)}")
    if not bars:
        return _empty(chart_id, "bars", labels.title, labels.no_data)
    left, top, row = 16.0, 8.0, 46.0
    plot_w = WIDTH - left - (190.0 if rate else 132.0)  # room for the figure after the bar
    top_value, step = (1.0, 0.25) if rate else _nice_max(max(b.value for b in bars))
    height = top + row * len(bars) + 28
    body = [_defs(chart_id) if tone in ("failed", "held") else Markup("")]
    body.append(_bar_grid(left, top, plot_w, row * len(bars), top_value, step, rate))
    for i, bar in enumerate(bars):
        body.append(_bar_row(chart_id, bar, tone, rate, left, top + i * row, plot_w, top_value))
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars) + "."
    desc = f"{labels.summary} {desc}" if labels.summary else desc
    return _svg(chart_id, "bars", height, labels.title, desc, _join(body))


def _bar_row(
    chart_id: str, bar: Bar, tone: str, rate: bool, left: float, y: float, plot_w: float, top_value: float
) -> Markup:
    label = _fit(bar.label, 13, WIDTH - 2 * left)
    parts = [_tag("text", _text_attrs(left, y + 15, "chart-label", 13), _tip(bar.label), label)]
    if rate:
        track = {"x": left, "y": y + 21, "width": plot_w, "height": 16, "fill": TRACK, "class": "bar-track"}
        parts.append(_tag("rect", track))
    width = max(0.0, min(bar.value, top_value)) * plot_w / top_value
    if width > 0:
        rect = {
            "x": left,
            "y": y + 21,
            "width": width,
            "height": 16,
            "fill": _fill(chart_id, tone),
            "class": f"bar-{tone}",
        }
        parts.append(_tag("rect", rect, _tip(f"{bar.label}: {bar.text}")))
    value_x = left + (plot_w if rate else width) + 8
    parts.append(_text(value_x, y + 34, bar.text, "chart-value", size=12))
    return _tag("g", {"class": "chart-row"}, *parts)


def _bar_grid(
    left: float, top: float, plot_w: float, plot_h: float, top_value: float, step: float, rate: bool
) -> Markup:
    parts: list[Markup] = []
    ticks = int(round(top_value / step))
    for i in range(ticks + 1):
        x = left + i * plot_w / ticks
        line = {"x1": x, "y1": top, "x2": x, "y2": top + plot_h, "stroke": GRID, "class": "chart-grid"}
        label = _percent(i * step).replace(".0%", "%") if rate else _count(i * step)
        parts.append(_tag("line", line))
        parts.append(_text(x, top + plot_h + 16, label, "chart-axis", size=11, anchor="middle"))
    return _tag("g", {"class": "chart-axis"}, *parts)


# --- the statistics' charts --------------------------------------------------------------------------


def failure_chart(
    chart_id: str,
    failures: Sequence[FailureCount],
    labels: BarLabels,
    *,
    messages: Mapping[int, str] | None = None,
) -> Markup:
    """Why verifications failed: one hatched red bar per VerifyStatus, its count and share of failures.
    ``messages``: the page's words for each status (else the English STATUS_MESSAGES)."""
    total = sum(f.count for f in failures)
    bars = [
        Bar(
            f"{f.status} · {(messages or {}).get(f.status, f.message)}",
            f.count,
            f"{f.count:,} ({_percent(f.count / total)})",
        )
        for f in failures
        if f.count
    ]
    return bar_chart(chart_id, bars, labels, tone="failed")


def pass_rate_chart(chart_id: str, scenes: Sequence[SceneCount], labels: BarLabels) -> Markup:
    """Each scene's pass rate (held ones left out) as a green bar over a 0-100 % track, with
    passed / decided written next to it; a scene whose verifications are all held shows "—"."""
    bars = []
    for s in scenes:
        if not s.total:
            continue
        name = f"{s.biz_type} — {s.name}" if s.name and s.name != s.biz_type else s.biz_type
        decided = s.passed + s.failed
        text = f"{_percent(s.pass_rate)} ({s.passed:,}/{decided:,})" if s.pass_rate is not None else "—"
        bars.append(Bar(name, s.pass_rate or 0.0, text))
    return bar_chart(chart_id, bars, labels, tone="passed", rate=True)


def latency_chart(
    chart_id: str,
    latency: Latency,
    labels: BarLabels,
    *,
    p50: str = "p50",
    p95: str = "p95",
    unit: str = "ms",
) -> Markup:
    """The decision time's median and 95th percentile as two bars (no data: no decision was timed)."""
    if latency.p50_ms is None or latency.p95_ms is None:
        return bar_chart(chart_id, [], labels)
    bars = [
        Bar(p50, latency.p50_ms, f"{latency.p50_ms:,.0f} {unit}"),
        Bar(p95, latency.p95_ms, f"{latency.p95_ms:,.0f} {unit}"),
    ]
    return bar_chart(chart_id, bars, labels)


def stats_charts(figures: Statistics, t: Callable[[str], str]) -> dict[str, Markup]:
    """Every chart of the statistics page, labelled in the page's language (``t``)."""
    no_data = t("No verification in this period.")
    daily = DailyLabels(
        title=t("Verifications per day"),
        passed=t("passed"),
        failed=t("failed"),
        held=t("held"),
        total=t("total"),
        no_data=no_data,
        y_axis=t("verifications"),
    )
    volume = [Bar(s.biz_type, s.total, f"{s.total:,}") for s in figures.scenes if s.total]
    return {
        "daily": daily_chart("daily", figures.days, daily),
        "scenes": bar_chart("scenes", volume, BarLabels(t("Verifications per scene"), no_data)),
        "pass_rate": pass_rate_chart(
            "passrate", figures.scenes, BarLabels(t("Pass rate per scene"), no_data)
        ),
        "failures": failure_chart(
            "failures",
            figures.failures,
            BarLabels(t("Why verifications failed"), t("No failure in this period.")),
            messages={code: t(text) for code, text in STATUS_MESSAGES.items()},
        ),
        "latency": latency_chart(
            "latency", figures.latency, BarLabels(t("Decision time"), t("No decision was timed."))
        ),
    }
