"""The one way other apps learn that a survey was answered (webhooks), so `surveys`
never imports them: the same pattern as tickets.hooks. A listener registered in its
AppConfig.ready() runs inside `survey_respond`'s transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from surveys.models import SurveyResponse

Listener = Callable[["SurveyResponse", datetime], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def survey_answered(response: SurveyResponse, now: datetime) -> None:
    for listener in _listeners:
        listener(response, now)
