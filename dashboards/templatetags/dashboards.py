from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboards.map import MapCell
from slas.templatetags.sla import business_duration
from tickets.models import Department

register = template.Library()


@register.simple_tag(takes_context=True)
def map_cell(
    context: template.Context,
    cell: MapCell,
    provider: Department | None,
    requester: str,
    requester_key: int | None = None,
    total: bool = False,
) -> SafeString:
    """One cell of the department map, a <td>: requests filed (a link to them in the
    provider's queue where the user works there), resolution SLA met, median resolution,
    satisfaction; coloured by the page's `colour`. `provider` None and `total` for a row's
    total; `requester_key` None for "No department" and the totals' row. Built here, not
    by a template per cell: the map has one per pair of departments, and an include's
    context and nodes per cell cost more than the rest of the page."""
    colour = context["colour"]
    heat = None if total and colour == "volume" else cell.heat(colour, context["map"].busiest)
    classes = (
        "map-cell" + (" map-cell--none" if heat is None else "") + (" map-total" if total else "")
    )
    style = format_html(' style="--heat: {}"', f"{heat:.3f}") if heat is not None else ""
    if cell.empty:
        inner = mark_safe('<span class="map-cell__empty" title="No requests">·</span>')
        return format_html('<td class="{}"{}>\n  {}\n</td>', classes, style, inner)
    number = format_html('<span class="map-cell__n" title="Requests filed">{}</span>', cell.created)
    if not total and requester_key and provider is not None and provider.pk in context["queues"]:
        number = format_html(
            '<a class="map-cell__link" href="{}" aria-label="{} request{} from {} to {}: open '
            'them in the queue">\n  {}\n  </a>',
            _queue_link(provider, requester_key, context["first_day"], context["last_day"]),
            cell.created,
            "" if cell.created == 1 else "s",
            requester,
            provider.name,
            number,
        )
    r, s = cell.resolution, cell.satisfaction
    met = f": {r.met} of {r.finished}, {r.breached} breached" if r.finished else ""
    percent = f"{floatformat(r.percent_met, 0)} %" if r.percent_met is not None else "—"
    median = business_duration(r.median_seconds) if r.median_seconds is not None else "—"
    meta = format_html(
        '<span title="Resolution SLA met{}">{}</span>\n'
        '    <span title="Median resolution (business time)">{}</span>',
        met,
        percent,
        median,
    )
    if s is not None:
        answers = f": {s.responses} answer{'' if s.responses == 1 else 's'}" if s.responses else ""
        shown = (
            "hidden"
            if s.hidden
            else f"{floatformat(s.csat_average, 1)}/5"
            if s.csat_average is not None
            else "—"
        )
        meta = format_html('{}\n    <span title="Satisfaction{}">{}</span>', meta, answers, shown)
    return format_html(
        '<td class="{}"{}>\n  {}\n  <span class="map-cell__meta">\n    {}\n  </span>\n</td>',
        classes,
        style,
        number,
        meta,
    )


def _queue_link(provider: Department, requester_key: int, first_day: date, last_day: date) -> str:
    """The queue's filter for a cell's requests (what the queue's form accepts)."""
    query: dict[str, Any] = {
        "status": "",
        "requesting_department": requester_key,
        "created_from": first_day.isoformat(),
        "created_to": last_day.isoformat(),
    }
    return (
        reverse("queue_department", args=[provider.code])
        + "?"
        + "&".join(f"{k}={v}" for k, v in query.items())
    )
