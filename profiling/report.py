"""The profile as an operator reads it: tables, fill-rate bars and histograms in inline SVG (no CDN)."""

from django.template.loader import render_to_string

from profiling.models import FileBatch

CHART_WIDTH, CHART_HEIGHT = 160, 36


def profile_report(batch: FileBatch) -> str:
    profile = batch.profile if batch.profile is not None else batch.preliminary_profile
    members = [_member(member) for member in profile.get("members", [])]
    return render_to_string(
        "profiling/admin/profile.html",
        {
            "batch": batch,
            "profile": profile,
            "is_full": profile.get("kind") == "full",
            "members": members,
            "checks": profile.get("crossMemberChecks", []),
        },
    )


def _member(member: dict) -> dict:
    columns = []
    for column in member.get("columns", []):
        columns.append(
            {
                **column,
                "fill_percent": round(100 * column.get("fillRate", 0), 1),
                "bars": _bars(column.get("histogram") or []),
                "top": ", ".join(f"{top['value']} ({top['count']})" for top in column.get("topValues", [])[:5]),
            }
        )
    return {**member, "column_rows": columns}


def _bars(histogram: list[dict]) -> list[dict]:
    """Rectangles of a small bar chart, one per bucket, scaled to the tallest."""
    if not histogram:
        return []
    tallest = max(bucket["count"] for bucket in histogram) or 1
    width = CHART_WIDTH / len(histogram)
    bars = []
    for index, bucket in enumerate(histogram):
        height = round(CHART_HEIGHT * bucket["count"] / tallest, 1)
        bars.append(
            {
                "x": round(index * width, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(max(width - 1, 1), 1),
                "height": height,
                "title": f"{bucket['from']} to {bucket['to']}: {bucket['count']}",
            }
        )
    return bars
