"""`manage.py sla_recompute [--batch-size N]`: recompute the deadlines of every running or
paused SLA clock, after a business calendar or an SLA policy changed."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

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
        count = sla_recompute(now=timezone.now(), batch_size=batch_size)
        elapsed = time.monotonic() - started
        self.stdout.write(f"Recomputed {count} SLA clocks in {elapsed:.1f} s.")
