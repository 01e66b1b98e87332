"""
Charts for the staff pages, drawn on the server as SVG: no CDN, no JavaScript, nothing to
vendor. Each chart carries a <title> and <desc> for screen readers, and the page shows the
same numbers as a table next to it.
"""

import datetime
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from pie.apps.intents.models import Certainty

# Okabe-Ito colours: told apart with the common colour-vision deficiencies.
CERTAINTY_COLOURS = {
    Certainty.CERTAIN_YES: "#0072B2",
    Certainty.CERTAIN_NO: "#D55E00",
    Certainty.MAYBE: "#999999",
}
# Beyond this, bars get thinner than a few pixels; the table still lists every month.
MAX_CHARTED_MONTHS = 60

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 36


@dataclass(frozen=True)
class MonthCounts:
    month: datetime.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _next_month(month: datetime.date) -> datetime.date:
    return datetime.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def monthly_counts(rows: list[dict]) -> list[MonthCounts]:
    """
    ``rows`` of (month, certainty, intents), as selectors.program_intents_per_month gives
    them, as one MonthCounts per month from the first to the last, empty months included so
    that the chart's time axis is even.
    """
    if not rows:
        return []
    by_month: dict[datetime.date, dict[str, int]] = {}
    for row in rows:
        counts = by_month.setdefault(row["month"], dict.fromkeys(Certainty.values, 0))
        counts[row["certainty"]] += row["intents"]
    months = []
    month, last = min(by_month), max(by_month)
    while month <= last:
        months.append(MonthCounts(month, by_month.get(month) or dict.fromkeys(Certainty.values, 0)))
        month = _next_month(month)
    return months


def _coordinate(value: float) -> str:
    # format_html escapes its arguments into strings, so numbers are formatted first.
    return f"{value:.1f}"


def monthly_intents_svg(months: list[MonthCounts], *, title: str) -> SafeString:
    """A stacked bar per month (CERTAIN_YES, CERTAIN_NO, MAYBE from the bottom), as SVG."""
    charted = months[-MAX_CHARTED_MONTHS:]
    tallest = max((month.total for month in charted), default=0) or 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(charted), 1)
    bar_width = max(slot * 0.7, 1)
    label_every = max(1, round(len(charted) / 8))

    shapes = []
    for index, month in enumerate(charted):
        x = LEFT + index * slot + (slot - bar_width) / 2
        base = TOP + plot_height
        for certainty in Certainty.values:
            count = month.counts[certainty]
            if not count:
                continue
            height = plot_height * count / tallest
            base -= height
            shapes.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {} {}</title></rect>",
                    _coordinate(x),
                    _coordinate(base),
                    _coordinate(bar_width),
                    _coordinate(height),
                    CERTAINTY_COLOURS[certainty],
                    f"{month.month:%Y-%m}",
                    count,
                    certainty,
                )
            )
        if index % label_every == 0:
            shapes.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>',
                    _coordinate(LEFT + index * slot + slot / 2),
                    HEIGHT - BOTTOM + 16,
                    f"{month.month:%Y-%m}",
                )
            )
    legend = format_html_join(
        "",
        '<rect x="{}" y="6" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="16" font-size="12">{}</text>',
        (
            (LEFT + i * 130, CERTAINTY_COLOURS[code], LEFT + i * 130 + 16, code)
            for i, code in enumerate(Certainty.values)
        ),
    )
    description = (
        f"{len(charted)} months from {charted[0].month:%Y-%m} to {charted[-1].month:%Y-%m}; "
        f"the busiest month has {tallest} intents. The table below gives every number."
        if charted
        else "No intents."
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {} {}" width="{}" '
        'height="{}" aria-labelledby="chart-title chart-desc" class="pie-chart">'
        '<title id="chart-title">{}</title><desc id="chart-desc">{}</desc>{}'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#666"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11">0</text>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        description,
        legend,
        LEFT,
        TOP + plot_height,
        WIDTH - RIGHT,
        TOP + plot_height,
        LEFT - 6,
        TOP + 4,
        tallest,
        LEFT - 6,
        TOP + plot_height,
        SafeString("".join(shapes)),
    )
