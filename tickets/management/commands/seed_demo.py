"""`manage.py seed_demo`: a demo company with about 300 tickets, for `make run`.

Fills an empty database only, and says so when it finds the demo already there.
The organisation is configuration (see demo_org.py); every ticket, reply, note,
assignment, transfer and status change goes through tickets/services.py with `now=` in
the past, so the audit trail, first-response times and notifications are the real thing.
Then the SLA sweep runs once, as the workers would on start-up, and the escalation rules
act on what has come due (warnings, breaches, tickets without an update).
Deterministic for a given --seed (times are relative to the moment it runs).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from knowledge.demo import create_demo_articles
from knowledge.models import Article
from outbox.models import Message
from outbox.services import outbox_recorded_as_delivered
from slas.escalations import sla_event_handle
from slas.idle import idle_timers_reschedule
from slas.models import EscalationRule, SlaClock, SlaEvent
from slas.sweep import sla_sweep
from surveys.models import FollowUp, SurveyInvitation
from tickets import services
from tickets.management.demo_data import (
    ACKNOWLEDGEMENTS,
    DEPARTMENTS,
    FOLLOW_UPS,
    FREQUENT_REQUESTERS,
    GENERIC_NOTES,
    PEOPLE,
    REOPEN_MESSAGES,
    REQUEST_TYPES,
    RESOLVED_AGAIN,
    THANKS,
    TRANSFERS,
    USEFUL_LOGINS,
    DepartmentSpec,
    RequestTypeSpec,
    Story,
    TransferStory,
)
from tickets.management.demo_org import (
    DEMO_PASSWORD,
    Organisation,
    create_demo_escalation_rules,
    create_demo_org,
    demo_org_exists,
    extra_answers,
)
from tickets.management.demo_surveys import answer_demo_surveys, create_demo_surveys
from tickets.models import Department, Membership, Ticket

Status = Ticket.Status


class Command(BaseCommand):
    help = "Fill an empty database with a demo company and about 300 tickets. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=300, help="How many (default 300).")
        parser.add_argument("--days", type=int, default=90, help="Spread over (default 90).")
        parser.add_argument("--seed", type=int, default=20240917, help="Random seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_org_exists():
            added_articles = self._add_missing_articles()
            if self._add_missing_escalation_rules() or added_articles:
                self._print_logins()
                return
            self.stdout.write("Demo data is already there; nothing changed.")
            self._print_logins()
            return
        demo_usernames = [p[0] for p in PEOPLE]
        if Department.objects.exists() or User.objects.filter(username__in=demo_usernames):
            self.stdout.write(
                "This database already has departments or people of its own; seed_demo only "
                "fills an empty database. Nothing changed."
            )
            return

        started = time.monotonic()
        now = timezone.now().replace(microsecond=0)
        # The seeded notifications describe events in the past: the outbox records them as
        # delivered, so the first `make run` doesn't print a thousand emails.
        with outbox_recorded_as_delivered(now=now), transaction.atomic():
            last_message_id = Message.objects.aggregate(last=Max("pk"))["last"] or 0
            org = create_demo_org(password=DEMO_PASSWORD)
            # Before the tickets, so that filing gives each its “no update” timer.
            rules = create_demo_escalation_rules(departments=org.departments)
            create_demo_surveys(departments=list(org.departments.values()))
            filer = DemoTickets(org=org, rng=random.Random(options["seed"]), now=now)
            filer.file_tickets(count=options["tickets"], days=options["days"])
            escalated = escalate_history(now=now)
            answered = answer_demo_surveys(now=now, rng=random.Random(options["seed"]))
            articles = create_demo_articles(now=now, rng=random.Random(options["seed"]))
            emails = Message.objects.filter(
                pk__gt=last_message_id, topic__in=[Message.Topic.EMAIL, Message.Topic.TICKET_EMAIL]
            ).count()

        statuses = Counter(Ticket.objects.values_list("status", flat=True))
        summary = ", ".join(f"{statuses[s]} {s}" for s in Status.values if statuses[s])
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(org.departments)} departments, {len(org.users)} people, "
                f"{len(org.request_types)} request types and {sum(statuses.values())} tickets "
                f"({summary}) in {time.monotonic() - started:.1f} s."
            )
        )
        self.stdout.write(
            f"{filer.replies} replies, {filer.notes} internal notes, {filer.transfers} transfers; "
            f"{emails} notification emails marked as already delivered."
        )
        self.stdout.write(
            f"{len(org.calendars)} business calendars and {len(org.sla_policies)} SLA policies; "
            f"SLA clocks: {_clock_summary()}."
        )
        self.stdout.write(f"{len(rules)} escalation rules (IT, HR); {escalated}.")
        self.stdout.write(
            f"Satisfaction surveys: {SurveyInvitation.objects.count()} sent, {answered} answered, "
            f"{FollowUp.objects.count()} low-score follow-ups for the leads."
        )
        self.stdout.write(f"{articles} help articles, with views, feedback and searches.")
        self._print_logins()

    def _add_missing_articles(self) -> bool:
        """A demo seeded before the knowledge base gets its help articles (once: not if
        there are articles already). True if it added them."""
        if Article.objects.exists():
            return False
        now = timezone.now().replace(microsecond=0)
        with outbox_recorded_as_delivered(now=now), transaction.atomic():
            articles = create_demo_articles(now=now, rng=random.Random(20240917))
        self.stdout.write(self.style.SUCCESS(f"Added {articles} demo help articles."))
        return True

    def _add_missing_escalation_rules(self) -> bool:
        """A demo seeded before escalation rules existed gets them (once: not if any
        department has rules already), with the catch-up sweep. True if it added them."""
        if EscalationRule.objects.exists():
            return False
        now = timezone.now().replace(microsecond=0)
        departments = {d.code: d for d in Department.objects.filter(code__in=["IT", "HR"])}
        with outbox_recorded_as_delivered(now=now), transaction.atomic():
            rules = create_demo_escalation_rules(departments=departments)
            for department in departments.values():
                idle_timers_reschedule(department_id=department.pk, now=now)
            escalated = escalate_history(now=now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data is already there; added its {len(rules)} escalation rules "
                f"(IT, HR); {escalated}."
            )
        )
        return True

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f'Demo logins (password "{DEMO_PASSWORD}" for every demo user):')
        width = max(len(name) for name, _ in USEFUL_LOGINS) + 2
        for username, role in USEFUL_LOGINS:
            self.stdout.write(f"  {username:<{width}}{role}")
        self.stdout.write(
            self.style.WARNING(
                f'WARNING: "{DEMO_PASSWORD}" is a demo password, known to anyone who reads this. '
                "Never seed a database that real people use, or one reachable from the internet."
            )
        )


def escalate_history(*, now: datetime) -> str:
    """Sweep once and run the escalation rules of every event recorded, as the workers
    would when `make run` starts (called inside outbox_recorded_as_delivered, so the
    emails about the past are recorded, not sent). Returns a summary."""
    sla_sweep(now=now, time_budget=600.0)
    pending = SlaEvent.objects.filter(handled_at__isnull=True).order_by("instant", "pk")
    handled = sum(
        sla_event_handle(event_id=pk, now=now) for pk in pending.values_list("pk", flat=True)
    )
    kinds = Counter(SlaEvent.objects.values_list("kind", flat=True))
    recorded = ", ".join(f"{kinds[k]} {label.lower()}" for k, label in SlaEvent.Kind.choices)
    return f"the sweep recorded SLA events ({recorded}); the rules acted on {handled}"


def _clock_summary() -> str:
    states = Counter(SlaClock.objects.values_list("state", flat=True))
    breached = SlaClock.objects.filter(breached_at__isnull=False).count()
    overdue = SlaClock.objects.filter(
        state=SlaClock.State.RUNNING, due_at__lt=timezone.now()
    ).count()
    parts = [f"{states[s]} {s}" for s in SlaClock.State.values if states[s]]
    return f"{', '.join(parts) or 'none'}; {breached} breached, {overdue} running past due"


class _Clock:
    """A ticket's own clock: moves forward in steps and refuses to pass `end`."""

    def __init__(self, start: datetime, end: datetime, rng: random.Random, pace: float) -> None:
        self.t, self.end, self.rng, self.pace = start, end, rng, pace

    def advance(self, low_minutes: float, high_minutes: float, *, working: bool = True) -> bool:
        """Move on by a random delay, scaled by the ticket's pace and, for people's
        actions, moved into office hours. False if that is past the end: the clock stays
        put and the story stops there."""
        minutes = self.rng.uniform(low_minutes, high_minutes) * self.pace
        t = self.t + timedelta(minutes=minutes)
        return self._move(_working_time(t, self.rng) if working else t)

    def advance_exactly(self, delay: timedelta) -> bool:
        """Move on by a fixed delay (the system's timers don't depend on anyone's pace)."""
        return self._move(self.t + delay)

    def _move(self, t: datetime) -> bool:
        if t > self.end:
            return False
        self.t = t
        return True


def _working_time(t: datetime, rng: random.Random) -> datetime:
    """The same instant if it falls in office hours (Mon-Fri 08:00-18:00 UTC), otherwise
    a moment early on the next working morning."""
    if t.weekday() < 5 and 8 <= t.hour < 18:
        return t
    day = t.date() if t.hour < 8 else t.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, 8, tzinfo=t.tzinfo)
    return morning + timedelta(minutes=rng.uniform(0, 90))


class DemoTickets:
    """Files demo tickets and plays each one's story through the services."""

    def __init__(self, *, org: Organisation, rng: random.Random, now: datetime) -> None:
        self.org, self.rng, self.now = org, rng, now
        self.departments: dict[str, DepartmentSpec] = {d.code: d for d in DEPARTMENTS}
        self.specs: dict[tuple[str, str], RequestTypeSpec] = {
            (code, spec.name): spec for code, specs in REQUEST_TYPES.items() for spec in specs
        }
        self.members: dict[str, set[int]] = {}
        for membership in Membership.objects.select_related("department"):
            self.members.setdefault(membership.department.code, set()).add(membership.user_id)
        self.people = [org.users[p[0]] for p in PEOPLE]
        self.replies = self.notes = self.transfers = 0

    # --- Choosing -------------------------------------------------------------------

    def _agents(self, code: str) -> list[User]:
        return [self.org.users[name] for name in self.departments[code].agents]

    def _lead(self, code: str) -> User:
        return self.org.users[self.departments[code].lead]

    def _requester(self, *codes: str) -> User:
        """Someone who works in none of these departments' queues."""
        members = set().union(*(self.members[code] for code in codes))
        candidates = [u for u in self.people if u.pk not in members]
        weights = [FREQUENT_REQUESTERS.get(u.username, 1) for u in candidates]
        return self.rng.choices(candidates, weights)[0]

    def _creation_times(self, count: int, days: int) -> list[datetime]:
        times = []
        for _ in range(count):
            # Over a third in the last ten days, so the queues have plenty of live work.
            recent = self.rng.random() < 0.35
            age_days = self.rng.uniform(0, 10) if recent else self.rng.uniform(0, days)
            times.append(_working_time(self.now - timedelta(days=age_days), self.rng))
        return sorted(t for t in times if t < self.now - timedelta(minutes=20))

    def _say(self, agent: User, requester: User, text: str) -> str:
        """An agent's message, greeting and signature as people actually write them."""
        if self.rng.random() < 0.6:
            text = f"Hi {requester.first_name},\n\n{text}"
        if self.rng.random() < 0.4:
            text = f"{text}\n\n{agent.first_name}"
        return text

    # --- Filing ---------------------------------------------------------------------

    def file_tickets(self, *, count: int, days: int) -> None:
        codes = [d.code for d in DEPARTMENTS]
        weights = [d.weight for d in DEPARTMENTS]
        # Filed in chronological order, so ids and references follow the filing time.
        for filed_at in self._creation_times(count, days):
            transfer = self.rng.choice(TRANSFERS) if self.rng.random() < 0.03 else None
            code = transfer.from_code if transfer else self.rng.choices(codes, weights)[0]
            if transfer:
                spec = self.specs[(transfer.from_code, transfer.from_type)]
                story = Story(transfer.title, transfer.description)
            else:
                specs = REQUEST_TYPES[code]
                spec = self.rng.choices(specs, [s.weight for s in specs])[0]
                story = self.rng.choice(spec.stories)
            self._play(code=code, spec=spec, story=story, transfer=transfer, filed_at=filed_at)

    def _play(
        self,
        *,
        code: str,
        spec: RequestTypeSpec,
        story: Story,
        transfer: TransferStory | None,
        filed_at: datetime,
    ) -> None:
        rng = self.rng
        requester = self._requester(code, transfer.to_code) if transfer else self._requester(code)
        created_by = requester
        manager = requester.manager
        if manager and manager.pk not in self.members[code] and rng.random() < 0.05:
            created_by = manager  # filed on behalf of a report; the manager watches it
        priority = spec.priority
        if rng.random() < 0.12:
            priority = min(4, max(1, priority + rng.choice((-1, 1))))
        description = story.description
        if rng.random() < 0.4:
            description += f"\n\nThanks,\n{created_by.first_name}"
        ticket = services.ticket_create(
            created_by=created_by,
            requester=requester,
            request_type=self.org.request_types[(code, spec.name)],
            title=story.title,
            description=description,
            priority=priority,
            extra=extra_answers(spec, story, filed_at.date(), rng),
            now=filed_at,
        )
        # Some tickets are worked briskly, some linger.
        clock = _Clock(filed_at, self.now - timedelta(minutes=5), rng, rng.lognormvariate(0, 0.8))

        if transfer is None and rng.random() < 0.05:
            if clock.advance(5, 300, working=False):
                services.ticket_transition(
                    ticket=ticket, actor=requester, to_status=Status.CANCELLED,
                    note="Not needed any more.", now=clock.t,
                )  # fmt: skip
            return
        if rng.random() < 0.06 and clock.advance(10, 600, working=False):
            colleagues = [
                u
                for u in self.people
                if u.home_department_id == requester.home_department_id and u.pk != requester.pk
            ]
            services.ticket_add_watcher(
                ticket=ticket, actor=requester, watcher=rng.choice(colleagues), now=clock.t
            )

        if transfer is not None:
            if not clock.advance(20, 600):
                return
            actor = ticket.assignee or rng.choice(self._agents(code))
            code, spec = transfer.to_code, self.specs[(transfer.to_code, transfer.to_type)]
            ticket = services.ticket_transfer(
                ticket=ticket, actor=actor, request_type=self.org.request_types[(code, spec.name)],
                reason=transfer.reason, now=clock.t,
            )  # fmt: skip
            self.transfers += 1

        agent = ticket.assignee
        if agent is None:  # a manual department: someone takes it, or the lead assigns it
            if not clock.advance(10, 1500):
                return
            agent = rng.choice(self._agents(code))
            actor = agent if rng.random() < 0.6 else self._lead(code)
            ticket = services.ticket_assign(ticket=ticket, actor=actor, assignee=agent, now=clock.t)

        if rng.random() < 0.2 and clock.advance(5, 120):
            self._note(ticket, agent, spec, at=clock.t)

        # First response: a question that waits on the requester, or an acknowledgement.
        if not clock.advance(15, 900):
            return
        if spec.questions and rng.random() < 0.4:
            question = self._say(agent, requester, rng.choice(spec.questions))
            self._reply(ticket, agent, question, then_status=Status.WAITING, at=clock.t)
            if not clock.advance(60, 4000):
                return
            if rng.random() < 0.9:
                answer = rng.choice(spec.answers or FOLLOW_UPS)
                self._reply(ticket, requester, answer, at=clock.t)  # takes it out of waiting
            else:
                if not clock.advance(4000, 8000):
                    return
                nudge = "We haven't heard back, so I'm resolving this. Reply here to reopen it."
                nudge = self._say(agent, requester, nudge)
                self._reply(ticket, agent, nudge, then_status=Status.RESOLVED, at=clock.t)
                self._close_later(ticket, code, clock)
                return
        else:
            ack = self._say(agent, requester, rng.choice(ACKNOWLEDGEMENTS))
            self._reply(ticket, agent, ack, at=clock.t)
            # A thank-you comes before the resolution: a requester's reply to a resolved
            # ticket reopens it (the service's rule), which is what REOPEN_MESSAGES are for.
            if rng.random() < 0.15 and clock.advance(5, 120):
                self._reply(ticket, requester, rng.choice(THANKS), at=clock.t)

        if rng.random() < 0.06 and clock.advance(60, 1440):
            colleague = rng.choice([a for a in self._agents(code) if a.pk != agent.pk])
            ticket = services.ticket_assign(
                ticket=ticket, actor=self._lead(code), assignee=colleague, now=clock.t
            )
            agent = colleague
        if rng.random() < 0.15 and clock.advance(240, 2880):
            self._reply(ticket, requester, rng.choice(FOLLOW_UPS), at=clock.t)
        if rng.random() < 0.3 and clock.advance(30, 600):
            self._note(ticket, agent, spec, at=clock.t)

        # Resolution, sometimes reopened by the requester and resolved again.
        if not clock.advance(60, 4000):
            return
        self._resolve(ticket, agent, requester, spec, clock)
        if rng.random() < 0.1 and clock.advance(120, 2880, working=False):
            self._reply(ticket, requester, rng.choice(REOPEN_MESSAGES), at=clock.t)  # reopens
            if not clock.advance(30, 1440):
                return
            again = self._say(agent, requester, rng.choice(RESOLVED_AGAIN))
            self._reply(ticket, agent, again, then_status=Status.RESOLVED, at=clock.t)
        self._close_later(ticket, code, clock)

    # --- Steps ----------------------------------------------------------------------

    def _reply(
        self, ticket: Ticket, author: User, body: str, *, at: datetime, then_status: str = ""
    ) -> None:
        services.comment_add(
            ticket=ticket, author=author, body=body, then_status=then_status, now=at
        )
        self.replies += 1

    def _note(self, ticket: Ticket, agent: User, spec: RequestTypeSpec, *, at: datetime) -> None:
        body = self.rng.choice(spec.notes or GENERIC_NOTES)
        services.comment_add(ticket=ticket, author=agent, body=body, is_internal=True, now=at)
        self.notes += 1

    def _resolve(
        self, ticket: Ticket, agent: User, requester: User, spec: RequestTypeSpec, clock: _Clock
    ) -> None:
        text = self._say(agent, requester, self.rng.choice(spec.resolutions))
        self._reply(ticket, agent, text, then_status=Status.RESOLVED, at=clock.t)

    def _close_later(self, ticket: Ticket, code: str, clock: _Clock) -> None:
        days = self.departments[code].auto_close_days
        # The auto-close task runs hourly, so it closes within the hour after the period.
        if clock.advance_exactly(timedelta(days=days, minutes=self.rng.uniform(1, 60))):
            services.ticket_transition(
                ticket=ticket, actor=None, to_status=Status.CLOSED,
                note=f"Closed automatically {days} days after resolution.", now=clock.t,
            )  # fmt: skip
