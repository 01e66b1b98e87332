"""The staff pages' SVG chart: months filled in, stacking, and text that stays text."""

import datetime

from pie.apps.intents.charts import MAX_CHARTED_MONTHS, monthly_counts, monthly_intents_svg


def row(year, month, certainty, intents):
    return {"month": datetime.date(year, month, 1), "certainty": certainty, "intents": intents}


def test_monthly_counts_fill_empty_months_across_a_year_boundary():
    months = monthly_counts(
        [row(2023, 11, "MAYBE", 2), row(2024, 2, "CERTAIN_YES", 1), row(2024, 2, "MAYBE", 3)]
    )
    assert [(m.month.isoformat(), m.counts, m.total) for m in months] == [
        ("2023-11-01", {"CERTAIN_YES": 0, "CERTAIN_NO": 0, "MAYBE": 2}, 2),
        ("2023-12-01", {"CERTAIN_YES": 0, "CERTAIN_NO": 0, "MAYBE": 0}, 0),
        ("2024-01-01", {"CERTAIN_YES": 0, "CERTAIN_NO": 0, "MAYBE": 0}, 0),
        ("2024-02-01", {"CERTAIN_YES": 1, "CERTAIN_NO": 0, "MAYBE": 3}, 4),
    ]
    assert monthly_counts([]) == []


def test_the_busiest_month_fills_the_plot_and_segments_stack_from_the_bottom():
    svg = monthly_intents_svg(
        monthly_counts([row(2024, 1, "CERTAIN_YES", 1), row(2024, 1, "MAYBE", 3)]),
        title="Intents",
    )
    # Plot from y=28 to y=224 (196 px), 660 px wide: one bar 70% wide; 1 of 4 intents is
    # 49 px, the 3 MAYBE above it 147 px.
    assert 'y="175.0" width="462.0" height="49.0" fill="#0072B2"' in svg
    assert 'y="28.0" width="462.0" height="147.0" fill="#999999"' in svg
    assert "<title>2024-01: 1 CERTAIN_YES</title>" in svg
    assert "1 months from 2024-01 to 2024-01; the busiest month has 4 intents." in svg


def test_the_chart_escapes_its_title_and_charts_at_most_sixty_months():
    many = [row(2000 + i // 12, i % 12 + 1, "CERTAIN_NO", 1) for i in range(100)]
    svg = monthly_intents_svg(monthly_counts(many), title="<script>alert(1)</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count('fill="#D55E00">') == MAX_CHARTED_MONTHS
    assert f"{MAX_CHARTED_MONTHS} months from 2003-05 to 2008-04" in svg
