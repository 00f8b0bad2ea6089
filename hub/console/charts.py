"""Charts of the console, drawn by pygal as inline SVG on the server (no JavaScript).

pygal's tooltip script is left out (``js=[]``, and its inline configuration script is
stripped), so the charts are static, load nothing from outside, and pass a CSP that allows
no script at all. pygal is imported on first use: its import scans installed packages for
plugins and appends a legacy finder to ``sys.meta_path`` (for map plugins the console does
not use), which is taken out again because it makes every failed import warn.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from hub.console.figures import DURATION_BUCKETS, LevelRow
from hub.console.queries import DayVolume

__all__ = ["delivery_time_chart", "level_share_chart", "volume_chart"]

Translate = Callable[[str], str]

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


@functools.cache
def _pygal() -> ModuleType:
    import pygal

    sys.meta_path[:] = [
        finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"
    ]
    module: ModuleType = pygal
    return module


@functools.cache
def _style() -> Any:
    _pygal()
    from pygal.style import Style

    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1f2933",
        foreground_strong="#111827",
        foreground_subtle="#9aa5b1",
        font_family="system-ui, 'Segoe UI', Roboto, Arial, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=15,
        colors=("#1d4ed8", "#0f766e", "#b45309", "#b91c1c", "#6d28d9", "#475569"),
    )


def _options(title: str) -> dict[str, object]:
    return {
        "title": title,
        "style": _style(),
        "js": [],
        "disable_xml_declaration": True,
        "width": 860,
        "height": 300,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "show_y_guides": True,
        "truncate_legend": -1,
    }


def _svg(chart: Any) -> str:
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def volume_chart(days: Sequence[DayVolume], _: Translate) -> str:
    """Documents, statuses and deliveries (delivered, failed) per day."""
    chart = _pygal().Line(
        **_options(_("chart.volume")),
        x_label_rotation=0,
        show_minor_x_labels=False,
        dots_size=2,
    )
    chart.x_labels = [day.day.strftime("%d/%m") for day in days]
    chart.x_labels_major = [label for index, label in enumerate(chart.x_labels) if index % 5 == 0]
    chart.add(_("chart.documents"), [day.documents for day in days])
    chart.add(_("chart.statuses"), [day.statuses for day in days])
    chart.add(_("chart.delivered"), [day.delivered for day in days])
    chart.add(_("chart.failed"), [day.failed for day in days])
    return _svg(chart)


def delivery_time_chart(histogram: Sequence[int], _: Translate) -> str:
    """How many deliveries took how long, in the buckets of ``DURATION_BUCKETS``."""
    chart = _pygal().Bar(**_options(_("chart.delivery_time")), show_legend=False)
    chart.x_labels = _bucket_labels()
    chart.add(_("chart.deliveries"), list(histogram))
    return _svg(chart)


def level_share_chart(levels: Sequence[LevelRow], _: Translate) -> str:
    """Per level: the shares acknowledged, accepted, completed and digitally signed."""
    chart = _pygal().Bar(**_options(_("chart.level_shares")), range=(0, 100))
    chart.x_labels = [level.name for level in levels]
    shares = [level.figures.shares() for level in levels]
    for metric in ("acknowledged", "accepted", "completed", "signed"):
        chart.add(
            _(f"metric.{metric}"),
            [round(value, 1) if (value := row[metric]) is not None else None for row in shares],
        )
    return _svg(chart)


def _bucket_labels() -> list[str]:
    def short(seconds: float) -> str:
        if seconds < 60:
            return f"{seconds:g} s"
        if seconds < 3600:
            return f"{seconds / 60:g} min"
        return f"{seconds / 3600:g} h"

    labels = [f"< {short(DURATION_BUCKETS[0])}"]
    labels += [f"{short(low)}–{short(high)}" for low, high in itertools.pairwise(DURATION_BUCKETS)]
    labels.append(f"≥ {short(DURATION_BUCKETS[-1])}")
    return labels
