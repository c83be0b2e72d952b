"""The demo company's organisation: departments, people, memberships and the catalogue.

Used by `seed_demo`, and by `seed_scale` when the database has no departments yet.
This is configuration that admins otherwise enter in Django admin; there is no service
for it, so plain ORM writes are the honest equivalent (public holidays are the exception:
they come from slas.calendars.calendar_generate_holidays, as in admin). Tickets are
another matter: `seed_demo` files them through tickets/services.py, after the business
calendars and SLA policies exist, so the ticket hook gives every demo ticket its clocks.
"""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from servicedesk.config import config_changed
from slas.calendars import calendar_generate_holidays
from slas.models import (
    BusinessCalendar,
    EscalationAction,
    EscalationRule,
    SlaPolicy,
    WorkingInterval,
)
from tickets.management.demo_data import (
    CALENDARS,
    DEPARTMENTS,
    ESCALATION_RULES,
    PEOPLE,
    REQUEST_TYPES,
    SLA_POLICIES,
    RequestTypeSpec,
    Story,
)
from tickets.models import Department, Membership, RequestField, RequestType

DEMO_PASSWORD = "demo"  # noqa: S105 - printed to the console as a demo password on purpose
ADMIN_USERNAME = "admin"
# seed_demo has run when the IT department exists together with its demo lead.
MARKER_DEPARTMENT = "IT"
MARKER_USERNAME = "david"


@dataclass
class Organisation:
    departments: dict[str, Department]  # by code
    users: dict[str, User]  # by username
    request_types: dict[tuple[str, str], RequestType]  # by (department code, name)
    calendars: dict[str, BusinessCalendar] = dataclasses.field(default_factory=dict)  # by name
    sla_policies: list[SlaPolicy] = dataclasses.field(default_factory=list)


def demo_org_exists() -> bool:
    return (
        Department.objects.filter(code=MARKER_DEPARTMENT).exists()
        and User.objects.filter(username=MARKER_USERNAME).exists()
    )


def _ascii(text: str) -> str:
    normalised = unicodedata.normalize("NFKD", text)
    return "".join(c for c in normalised if c.isascii() and c.isalnum()).lower()


def email_for(first_name: str, last_name: str) -> str:
    return f"{_ascii(first_name)}.{_ascii(last_name)}@example.com"


@transaction.atomic
def create_demo_org(*, password: str | None = DEMO_PASSWORD) -> Organisation:
    """Create the eight departments, about sixty people, their memberships and the
    request types with their extra fields, plus the `admin` superuser; then the business
    calendars the departments work by and their SLA policies.

    `password` None gives every demo user an unusable password. The caller checks
    first that none of this exists (see demo_org_exists).
    """
    # One hash for everyone: PBKDF2 costs a few hundred milliseconds per call, and
    # sixty calls would take most of the time budget of seeding.
    hashed = make_password(password)

    departments: dict[str, Department] = {}
    for spec in DEPARTMENTS:
        departments[spec.code] = Department.objects.create(
            code=spec.code,
            name=spec.name,
            description=spec.description,
            contact_email=spec.contact_email,
            assignment=spec.assignment,
            auto_close_days=spec.auto_close_days,
        )

    users = {
        username: User(
            username=username,
            first_name=first,
            last_name=last,
            email=email_for(first, last),
            job_title=title,
            home_department=departments[code],
            password=hashed,
        )
        for username, first, last, title, code, _manager in PEOPLE
    }
    User.objects.bulk_create(users.values())
    # bulk_create sets primary keys on PostgreSQL and SQLite alike (RETURNING).
    for username, *_rest, manager in PEOPLE:
        if manager:
            users[username].manager = users[manager]
    User.objects.bulk_update([u for u in users.values() if u.manager_id], ["manager"])

    if not User.objects.filter(username=ADMIN_USERNAME).exists():
        users[ADMIN_USERNAME] = User.objects.create(
            username=ADMIN_USERNAME,
            first_name="Site",
            last_name="Administrator",
            email="admin@example.com",
            job_title="Service desk administrator",
            home_department=departments["IT"],
            is_staff=True,
            is_superuser=True,
            password=hashed,
        )

    memberships = []
    for spec in DEPARTMENTS:
        department = departments[spec.code]
        memberships.append(
            Membership(user=users[spec.lead], department=department, role=Membership.Role.LEAD)
        )
        memberships.extend(
            Membership(user=users[name], department=department, role=Membership.Role.AGENT)
            for name in spec.agents
        )
    Membership.objects.bulk_create(memberships)

    request_types: dict[tuple[str, str], RequestType] = {}
    fields: list[RequestField] = []
    for code, type_specs in REQUEST_TYPES.items():
        for position, type_spec in enumerate(type_specs):
            request_type = RequestType.objects.create(
                department=departments[code],
                name=type_spec.name,
                description=type_spec.description,
                default_priority=type_spec.priority,
                is_confidential=type_spec.confidential,
                sla_exempt=type_spec.sla_exempt,
                position=position,
            )
            request_types[(code, type_spec.name)] = request_type
            fields.extend(
                RequestField(
                    request_type=request_type,
                    key=f.key,
                    label=f.label,
                    kind=f.kind,
                    required=f.required,
                    choices="\n".join(f.choices),
                    help_text=f.help_text,
                    position=field_position,
                )
                for field_position, f in enumerate(type_spec.fields)
            )
    RequestField.objects.bulk_create(fields)
    calendars = create_demo_calendars(departments=departments, today=timezone.localdate())
    policies = create_demo_sla_policies(departments=departments, request_types=request_types)
    config_changed()  # bulk_create sends no post_save: tell the processes' caches
    return Organisation(
        departments=departments,
        users=users,
        request_types=request_types,
        calendars=calendars,
        sla_policies=policies,
    )


def _time(text: str) -> time:
    return time.fromisoformat(text)


def create_demo_calendars(
    *, departments: dict[str, Department], today: date
) -> dict[str, BusinessCalendar]:
    """The Berlin, New York and round-the-clock calendars, with public holidays from last
    year to next year, each assigned to its departments (updating `departments` too).

    A calendar of the same name that is already there (an admin made it before seeding)
    is used as it is; generating holidays again adds only what is missing.
    """
    calendars: dict[str, BusinessCalendar] = {}
    for spec in CALENDARS:
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=spec.name,
            defaults={
                "time_zone": spec.time_zone,
                "holiday_country": spec.holiday_country,
                "holiday_subdivision": spec.holiday_subdivision,
            },
        )
        if created:
            WorkingInterval.objects.bulk_create(
                WorkingInterval(calendar=calendar, weekday=day, start=_time(start), end=_time(end))
                for day in spec.days
                for start, end in spec.hours
            )
        if calendar.holiday_country:
            years = range(today.year - 1, today.year + 2)
            calendar_generate_holidays(calendar=calendar, years=years)
        for code in spec.departments:
            if code in departments:
                departments[code].calendar = calendar
                departments[code].save(update_fields=["calendar"])
        calendars[spec.name] = calendar
    return calendars


def create_demo_sla_policies(
    *,
    departments: dict[str, Department],
    request_types: dict[tuple[str, str], RequestType],
) -> list[SlaPolicy]:
    """Each department's default policy and a few narrower ones: urgent tickets, one
    request type, and IT answering Sales faster."""
    policies = [
        SlaPolicy(
            name=spec.name,
            department=departments[spec.department],
            request_type=(
                request_types[(spec.department, spec.request_type)] if spec.request_type else None
            ),
            requesting_department=(
                departments[spec.requesting_department] if spec.requesting_department else None
            ),
            priority=spec.priority,
            first_response_minutes=spec.first_response,
            resolution_minutes=spec.resolution,
            next_response_minutes=spec.next_response,
        )
        for spec in SLA_POLICIES
    ]
    for policy in policies:
        policy.full_clean()  # the same checks as admin: a typo in demo_data fails loudly
    created = SlaPolicy.objects.bulk_create(policies)
    config_changed()  # bulk_create sends no post_save
    return created


def create_demo_escalation_rules(*, departments: dict[str, Department]) -> list[EscalationRule]:
    """The IT and HR escalation ladders (see demo_data.ESCALATION_RULES), checked as admin
    checks them. Departments missing from `departments` are skipped."""
    rules: list[EscalationRule] = []
    for spec in ESCALATION_RULES:
        if spec.department not in departments:
            continue
        rule = EscalationRule(
            department=departments[spec.department],
            level=spec.level,
            name=spec.name,
            trigger=spec.trigger,
            clock_kind=spec.clock_kind,
            warning_percent=spec.warning_percent,
            idle_hours=spec.idle_hours,
            priorities=list(spec.priorities),
        )
        rule.full_clean()  # a typo in demo_data fails loudly
        rule.save()
        for position, action_spec in enumerate(spec.actions):
            action = EscalationAction(
                rule=rule,
                position=position,
                kind=action_spec.kind,
                target=action_spec.target,
                text=action_spec.text,
            )
            action.full_clean()
            action.save()
        rules.append(rule)
    return rules


def extra_answers(
    spec: RequestTypeSpec, story: Story, filed: date, rng: random.Random
) -> dict[str, Any]:
    """Plausible answers to a request type's extra fields: the story's own answers, then
    every required field and most optional ones (dates relative to the filing date)."""
    values: dict[str, Any] = {}
    for field in spec.fields:
        if field.key in story.extra:
            values[field.key] = story.extra[field.key]
        elif not field.required and rng.random() < 0.3:
            continue
        elif field.kind in ("text", "long_text") and field.samples:
            values[field.key] = rng.choice(field.samples)
        elif field.kind == "choice":
            values[field.key] = rng.choice(field.choices)
        elif field.kind == "date":
            values[field.key] = (filed + timedelta(days=rng.randint(*field.days))).isoformat()
        elif field.kind == "number":
            values[field.key] = rng.randint(*field.number)
        elif field.kind == "yes_no":
            values[field.key] = rng.random() < 0.5
    return values


# --- A larger workforce for scale tests ------------------------------------------------

FIRST_NAMES = [
    "Adam",
    "Adriana",
    "Ahmed",
    "Aiko",
    "Alan",
    "Alice",
    "Amir",
    "Ana",
    "Andrea",
    "Anja",
    "Arjun",
    "Ava",
    "Beatriz",
    "Bruno",
    "Camille",
    "Carlos",
    "Carmen",
    "Chen",
    "Chiara",
    "Chris",
    "Dana",
    "Daniela",
    "Dev",
    "Dmitri",
    "Elena",
    "Elif",
    "Eric",
    "Erik",
    "Fatou",
    "Felix",
    "Florence",
    "Gabriel",
    "Giulia",
    "Hana",
    "Hassan",
    "Helen",
    "Hugo",
    "Ines",
    "Ivan",
    "Jack",
    "Jana",
    "Javier",
    "Jin",
    "Joao",
    "Jorge",
    "Julien",
    "Karen",
    "Karim",
    "Katarina",
    "Kofi",
    "Lara",
    "Laszlo",
    "Layla",
    "Lea",
    "Liam",
    "Lina",
    "Lucy",
    "Luis",
    "Magnus",
    "Malik",
    "Marco",
    "Marta",
    "Matteo",
    "Maya",
    "Mehmet",
    "Mei",
    "Milan",
    "Mohamed",
    "Nadia",
    "Nils",
    "Nora",
    "Oscar",
    "Paolo",
    "Paula",
    "Pedro",
    "Petra",
    "Quentin",
    "Rafael",
    "Rania",
    "Rosa",
    "Sana",
    "Sebastian",
    "Selin",
    "Simon",
    "Sina",
    "Sven",
    "Tariq",
    "Teresa",
    "Theo",
    "Tobias",
    "Valentina",
    "Vera",
    "Viktor",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zofia",
]
LAST_NAMES = [
    "Abbott",
    "Akhtar",
    "Andersen",
    "Bakker",
    "Banerjee",
    "Barros",
    "Becker",
    "Berger",
    "Blanco",
    "Brown",
    "Campbell",
    "Castro",
    "Cohen",
    "Cruz",
    "Das",
    "Davies",
    "Dias",
    "Eriksson",
    "Evans",
    "Ferrari",
    "Fischer",
    "Fontaine",
    "Garcia",
    "Gomez",
    "Gupta",
    "Hall",
    "Hansen",
    "Hoffmann",
    "Horvat",
    "Ivanova",
    "Jensen",
    "Jovanovic",
    "Kaya",
    "Keller",
    "Khan",
    "Kovacs",
    "Kruger",
    "Lambert",
    "Larsen",
    "Lee",
    "Lopez",
    "Mahmoud",
    "Meyer",
    "Moreau",
    "Murray",
    "Nakamura",
    "Nielsen",
    "Novak",
    "Nowak",
    "Ortiz",
    "Osei",
    "Perez",
    "Petrov",
    "Popescu",
    "Quinn",
    "Reddy",
    "Reyes",
    "Richter",
    "Rossi",
    "Santos",
    "Sato",
    "Schneider",
    "Shah",
    "Silva",
    "Smith",
    "Sorensen",
    "Suzuki",
    "Torres",
    "Vargas",
    "Visser",
    "Wagner",
    "Walker",
    "Weiss",
    "Wong",
    "Yilmaz",
    "Young",
    "Zimmermann",
]
JOB_TITLES = {
    "IT": ("IT Support Specialist", "Systems Engineer", "Cloud Engineer", "IT Project Manager"),
    "HR": ("HR Generalist", "Recruiter", "Payroll Administrator", "HR Assistant"),
    "FIN": ("Accountant", "Financial Analyst", "Accounts Payable Clerk", "Treasury Analyst"),
    "FAC": ("Facilities Coordinator", "Maintenance Technician", "Office Assistant"),
    "MKT": ("Marketing Specialist", "Content Writer", "Graphic Designer", "Product Marketer"),
    "SAL": ("Account Executive", "Sales Development Representative", "Account Manager"),
    "CS": ("Customer Support Specialist", "Customer Success Manager", "Support Engineer"),
    "ENG": ("Software Engineer", "Senior Software Engineer", "QA Engineer", "Data Engineer"),
}
# Where a large company's people sit: most in Sales, Support and Engineering.
HEADCOUNT_WEIGHTS = {"IT": 6, "HR": 3, "FIN": 4, "FAC": 3, "MKT": 8, "SAL": 26, "CS": 25, "ENG": 25}
# Share of the added employees who work their home department's queue.
AGENT_SHARE = 0.08


@transaction.atomic
def add_employees(
    *, count: int, rng: random.Random, headcount_weights: dict[str, int] | None = None
) -> int:
    """Add `count` employees (unusable passwords) across the departments (by
    `headcount_weights`, HEADCOUNT_WEIGHTS by default), each reporting to their
    department's lead; about 8% of those whose department has request types become its
    agents.

    Returns the number of agents added.
    """
    departments = {d.code: d for d in Department.objects.all()}
    headcount = headcount_weights or HEADCOUNT_WEIGHTS
    codes = [c for c in headcount if c in departments] or list(departments)
    weights = [headcount.get(c, 1) for c in codes]
    serving = set(
        RequestType.objects.filter(is_active=True).values_list("department_id", flat=True)
    )
    leads = {
        m.department_id: m.user_id
        for m in Membership.objects.filter(role=Membership.Role.LEAD).order_by("-id")
    }
    taken = set(User.objects.values_list("username", flat=True))
    unusable = make_password(None)
    users = []
    for _ in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{_ascii(first)}.{_ascii(last)}"
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        department = departments[rng.choices(codes, weights)[0]]
        users.append(
            User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.com",
                job_title=rng.choice(JOB_TITLES.get(department.code, ("Specialist",))),
                home_department=department,
                manager_id=leads.get(department.pk),
                password=unusable,
            )
        )
    User.objects.bulk_create(users, batch_size=1000)
    agents = [
        Membership(user=u, department=u.home_department, role=Membership.Role.AGENT)
        for u in users
        if rng.random() < AGENT_SHARE and u.home_department_id in serving
    ]
    Membership.objects.bulk_create(agents, batch_size=1000)
    return len(agents)
