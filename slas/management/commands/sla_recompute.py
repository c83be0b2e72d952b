"""`manage.py sla_recompute [--batch-size N]`: recompute the deadlines of every running or
paused SLA clock, and every open ticket's “no update” timer, after a business calendar,
an SLA policy or an escalation rule changed."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from slas.idle import idle_timers_reschedule
from slas.models import EscalationRule
from slas.services import sla_recompute


class Command(BaseCommand):
    help = (
        "Recompute time used and deadlines of every running or paused SLA clock with "
        "today's calendars and policy targets (batched; safe on a live system)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Clocks per transaction (default 1000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be positive.")
        started = time.monotonic()
        now = timezone.now()
        count = sla_recompute(now=now, batch_size=batch_size)
        # Departments that have (or had) “no update” rules: their open tickets' timers.
        departments = EscalationRule.objects.filter(
            trigger=EscalationRule.Trigger.NO_UPDATE
        ).values_list("department_id", flat=True)
        timers = sum(
            idle_timers_reschedule(department_id=department_id, now=now, batch_size=batch_size)
            for department_id in sorted(set(departments))
        )
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Recomputed {count} SLA clocks and {timers} “no update” timers in {elapsed:.1f} s."
        )
