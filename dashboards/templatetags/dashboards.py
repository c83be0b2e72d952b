from __future__ import annotations

from django import template

from dashboards.map import MapCell

register = template.Library()


@register.simple_tag
def map_heat(cell: MapCell, colour: str, busiest: int) -> float | None:
    """The cell's place on the map's colour scale (MapCell.heat)."""
    return cell.heat(colour, busiest)
