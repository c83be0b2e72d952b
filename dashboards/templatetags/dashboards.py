from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.urls import reverse
from django.utils.html import escape
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
    total; `requester_key` None for "No department" and the totals' row.

    Built here, not by a template per cell: the map has a cell per pair of departments
    (225 on the bench), and an include per cell (its context, its nodes, a filter call per
    figure) cost more than all the rest of the page. Every text is escaped here."""
    colour = context["colour"]
    heat = None if total and colour == "volume" else cell.heat(colour, context["map"].busiest)
    classes = (
        "map-cell" + (" map-cell--none" if heat is None else "") + (" map-total" if total else "")
    )
    style = "" if heat is None else f' style="--heat: {heat:.3f}"'
    if cell.empty:
        empty = '<span class="map-cell__empty" title="No requests">·</span>'
        return mark_safe(f'<td class="{classes}"{style}>\n  {empty}\n</td>')  # noqa: S308
    number = f'<span class="map-cell__n" title="Requests filed">{cell.created}</span>'
    if not total and requester_key and provider is not None and provider.pk in context["queues"]:
        link = _queue_link(provider, requester_key, context["first_day"], context["last_day"])
        label = (
            f"{cell.created} request{_plural(cell.created)} from {requester} to "
            f"{provider.name}: open them in the queue"
        )
        number = (
            f'<a class="map-cell__link" href="{escape(link)}" aria-label="{escape(label)}">\n'
            f"  {number}\n  </a>"
        )
    r, s = cell.resolution, cell.satisfaction
    met = f": {r.met} of {r.finished}, {r.breached} breached" if r.finished else ""
    percent = f"{_rounded(r.percent_met, 0)} %" if r.percent_met is not None else "—"
    median = business_duration(r.median_seconds) if r.median_seconds is not None else "—"
    meta = (
        f'<span title="Resolution SLA met{met}">{percent}</span>\n'
        f'    <span title="Median resolution (business time)">{median}</span>'
    )
    if s is not None:
        answers = f": {s.responses} answer{_plural(s.responses)}" if s.responses else ""
        shown = "—"
        if s.hidden:
            shown = "hidden"
        elif s.csat_average is not None:
            shown = f"{_rounded(s.csat_average, 1)}/5"
        meta += f'\n    <span title="Satisfaction{answers}">{shown}</span>'
    return mark_safe(  # noqa: S308 (the names are escaped; the rest are numbers and constants)
        f'<td class="{classes}"{style}>\n  {number}\n'
        f'  <span class="map-cell__meta">\n    {meta}\n  </span>\n</td>'
    )


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _rounded(value: float, places: int) -> str:
    """`value` with `places` decimals, halves rounded up: the floatformat filter's
    figure (en-us, no grouping), without its locale lookups."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def _queue_link(provider: Department, requester_key: int, first_day: date, last_day: date) -> str:
    """The queue's filter for a cell's requests (what the queue's form accepts)."""
    return (
        f"{reverse('queue_department', args=[provider.code])}?status=&requesting_department="
        f"{requester_key}&created_from={first_day.isoformat()}&created_to={last_day.isoformat()}"
    )
