"""Whole journeys in headless Chromium against the app as `make run` serves it: web, a real
Celery worker and beat, on their own database and broker (see stack.py), emails read from
the files the stack writes. People sign in through the login form with the demo logins.

1. An employee files a request with extra fields; the department's agent takes it, asks a
   question; the requester answers; the agent resolves; the requester answers the survey
   from the emailed link with a low score; the lead sees it in the dashboard's figures
   and in the follow-ups.
2. A one-minute first-response target runs out: the sweep records the breach, the
   escalation rule gives the ticket to the lead and emails the lead; the timeline says so.
3. What must not be possible: another person's ticket, an internal note's file, a
   confidential request from another department, another department's dashboard.

Main screens are checked with axe-core as the journeys pass them. Screenshots of the key
steps: $SERVICEDESK_VAR_DIR/journeys/<journey>/ (see conftest.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `stack` fixture skips (or, in CI, fails) every journey then
    expect = None

from tests.browser.journeys.conftest import LAST, Journey, journeys_dir
from tests.browser.journeys.stack import SWEEP_SECONDS, Stack
from tests.browser.journeys.stack_data import BREACH_NOTE, BREACH_RULE

pytestmark = [pytest.mark.browser]

# The headings of templates/404.html and 403.html (with their typographic apostrophes).
NOT_FOUND_HEADING = "We couldn\u2019t find that page"
FORBIDDEN_HEADING = "You can\u2019t do that here"


# --- Helpers: what the screens say ------------------------------------------------------


def reference_of(page: Any) -> str:
    match = re.search(r"/tickets/([A-Z]+-\d+)/$", page.url)
    assert match, f"not on a ticket page: {page.url}"
    return match.group(1)


def detail(page: Any, term: str) -> Any:
    """The value of a term of the ticket's Details card (Assignee, Status, ...)."""
    return page.locator(f".details dt:text-is('{term}') + dd")


def file_request(
    page: Any, *, department: str, request_type: str, title: str, description: str
) -> None:
    """From the home page to the filled-in form of a request type (the fields it has of
    its own are left to the caller)."""
    page.get_by_role("link", name="New request").first.click()
    expect(page.get_by_role("heading", name="Who can help you?")).to_be_visible()
    page.get_by_role("link", name=department, exact=True).click()
    page.get_by_role("link", name=request_type, exact=True).click()
    expect(page.get_by_role("heading", name=request_type, exact=True)).to_be_visible()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)


def send(page: Any, department_name: str) -> str:
    page.get_by_role("button", name=f"Send request to {department_name}").click()
    page.wait_for_url(re.compile(r"/tickets/[A-Z]+-\d+/$"))
    reference = reference_of(page)
    expect(page.locator(".messages")).to_contain_text(f"Request {reference} filed.")
    return reference


def reply(page: Any, body: str, *, then: str = "", internal: bool = False) -> None:
    composer = page.locator("form#reply")
    composer.locator("textarea[name=body]").fill(body)
    if internal:
        composer.get_by_label("Internal note (only agents see it)").check()
    if then:
        composer.locator("select[name=then_status]").select_option(label=then)
    with page.expect_navigation():  # the POST, then its redirect back to the ticket
        composer.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        "Internal note added." if internal else "Reply sent."
    )


@dataclass(frozen=True)
class Figures:
    created: int
    resolved: int
    answered: int
    invited: int
    dissatisfied: int  # answers with score 2
    open_follow_ups: int


def dashboard_figures(page: Any) -> Figures:
    weeks = page.locator("table:has(caption:text('Requests created and resolved per week'))")
    created, resolved = (int(t) for t in weeks.locator("tfoot td").all_text_contents())
    tile = page.locator(".dash-tile:has(h2:text-is('Satisfaction')) .dash-tile__sub")
    answered, invited = (
        int(n) for n in re.search(r"(\d+) of (\d+) answered", tile.text_content()).groups()
    )
    scores = page.locator(
        "table:has(caption:text('Answers per score')) tbody tr:has(th:text-is('2'))"
    )
    dissatisfied = int(scores.locator("td").first.text_content()) if scores.count() else 0
    follow_ups = page.locator(
        ".dash-tile:has(h3:text-is('Open low-score follow-ups')) .dash-tile__value"
    )
    return Figures(
        created=created,
        resolved=resolved,
        answered=answered,
        invited=invited,
        dissatisfied=dissatisfied,
        open_follow_ups=int(follow_ups.text_content()),
    )


# --- Journey 2 starts first: its one minute runs while the others run --------------------


@dataclass
class Breach:
    journey: Journey
    reference: str
    filed_at: float  # time.monotonic()
    first_assignee: str


@pytest.fixture(scope="module", autouse=True)
def breach(stack: Stack, browser: Any) -> Iterator[Breach]:
    """An employee files a Customer Support "Help-centre article" request: the one-minute
    first-response policy of stack_data.py applies. Filed before any journey runs."""
    name = LAST.removeprefix("test_")  # the breach journey's test, which runs last
    folder = journeys_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    journey = Journey(name=name, stack=stack, browser=browser, folder=folder)
    noah = journey.sign_in("noah", form=True)
    file_request(
        noah,
        department="Customer Support",
        request_type="Help-centre article",
        title="Article on exporting invoices to Excel",
        description="Customers ask every week how to get their invoices into Excel.",
    )
    noah.get_by_label("Topic").fill("Exporting invoices")
    noah.get_by_label("Audience").select_option(label="Customers")
    reference = send(noah, "Customer Support")
    filed_at = time.monotonic()
    first_assignee = detail(noah, "Assignee").inner_text().strip()
    journey.shot(noah, "requester filed the request")
    yield Breach(journey, reference, filed_at, first_assignee)
    journey.close()


# --- Journey 1 -------------------------------------------------------------------------


def test_a_request_from_filing_to_survey_to_the_leads_figures(journey: Journey) -> None:
    stack = journey.stack

    # The login screen, before anyone signs in.
    visitor = journey.anonymous()
    visitor.goto(journey.url("/"))
    expect(visitor).to_have_url(re.compile(r"/login/\?next=/$"))
    journey.check_accessibility(visitor, "login")
    journey.shot(visitor, "login")

    # Engineering surveys at once and as often as needed (an admin's change in admin).
    admin = journey.sign_in("admin")
    admin.goto(journey.url("/admin/surveys/surveysettings/"))
    admin.locator("#result_list").get_by_role("link", name="Engineering", exact=True).click()
    admin.get_by_label("Delay minutes").fill("0")
    admin.get_by_label("At most one survey per person every (days)").fill("0")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    journey.shot(admin, "admin surveys at once")

    # The lead's figures before.
    lead = journey.sign_in("alex")
    # A period that holds today in any time zone, the same before and after (even if the
    # department's day changes in between).
    today = date.today()
    period = f"?first_day={today - timedelta(days=29)}&last_day={today + timedelta(days=2)}"
    lead.goto(journey.url(f"/dashboard/ENG/{period}"))
    expect(lead.get_by_role("heading", name="Engineering dashboard")).to_be_visible()
    before = dashboard_figures(lead)
    journey.check_accessibility(lead, "lead dashboard")
    journey.shot(lead, "lead dashboard before")
    lead.get_by_role("link", name="Department map").click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Department map")
    journey.check_accessibility(lead, "department map")
    journey.shot(lead, "department map")

    # Emma files a bug with the request type's own fields.
    emma = journey.sign_in("emma", form=True)
    expect(emma).to_have_url(re.compile(r"/requests/$"))
    expect(emma.get_by_role("heading", name="My requests")).to_be_visible()
    journey.check_accessibility(emma, "my requests")
    journey.shot(emma, "my requests")
    file_request(
        emma,
        department="Engineering",
        request_type="Bug in an internal tool",
        title="Regional totals stay the same whatever the month",
        description="The reporting dashboard shows the same totals for every month.",
    )
    emma.get_by_label("Tool").select_option(label="Reporting dashboard")
    emma.get_by_label("Steps to reproduce").fill("Filter by region EMEA, then change the month.")
    emma.get_by_label("When did it start?").fill(date.today().isoformat())
    emma.get_by_label("Does it block your work?").select_option(label="Yes")
    journey.check_accessibility(emma, "new request form")
    journey.shot(emma, "new request form")
    # While she typed the title, Engineering's help articles that match it appeared beside
    # the form; she reads one in a new tab, and files anyway: what she typed is still there.
    article = "Reporting dashboard: totals stay the same for every month"
    suggestions = emma.locator("#kb-suggestions")
    expect(suggestions.get_by_role("link", name=article)).to_be_visible()
    journey.shot(emma, "suggested articles")
    with emma.context.expect_page() as opened:
        suggestions.get_by_role("link", name=article).click()
    reading = opened.value
    expect(reading.get_by_role("heading", level=1)).to_have_text(article)
    expect(reading.get_by_text("Did this answer your question?")).to_be_visible()
    journey.shot(reading, "suggested article")
    reading.close()
    expect(emma.get_by_label("Title")).to_have_value(
        "Regional totals stay the same whatever the month"
    )
    reference = send(emma, "Engineering")
    expect(emma.get_by_role("heading", level=1)).to_have_text(
        "Regional totals stay the same whatever the month"
    )
    expect(emma.locator(".extra-list")).to_contain_text("Reporting dashboard")
    expect(emma.locator(".extra-list")).to_contain_text("Filter by region EMEA")
    expect(detail(emma, "Status")).to_have_text("New")
    expect(detail(emma, "Assignee")).to_have_text("Unassigned")
    journey.shot(emma, "requester filed")

    # Wei, an Engineering agent, finds it in the queue, takes it and asks a question.
    wei = journey.sign_in("wei")
    wei.goto(journey.url("/"))  # an agent's home is the queue
    expect(wei).to_have_url(re.compile(r"/queue/ENG/"))
    journey.check_accessibility(wei, "agent queue")
    journey.shot(wei, "agent queue")
    wei.locator(f"a[href='/tickets/{reference}/']").first.click()
    # The article she read before filing is on the ticket, for the agent.
    help_articles = wei.locator("section[aria-labelledby=kb-title]")
    expect(help_articles).to_contain_text(article)
    expect(help_articles).to_contain_text("Read while filing")
    wei.get_by_role("button", name="Assign to me").click()
    expect(detail(wei, "Assignee")).to_contain_text("Wei Zhang")
    reply(wei, "Which regions show it: all of them, or only EMEA?", then="Waiting on requester")
    expect(detail(wei, "Status")).to_have_text("Waiting on requester")
    journey.check_accessibility(wei, "ticket page, agent")
    journey.shot(wei, "agent asked a question")

    # Emma sees the question and answers: the ticket goes back to Engineering.
    emma.reload()
    expect(emma.locator(".callout--waiting")).to_contain_text(
        "Engineering is waiting for your answer."
    )
    expect(emma.locator(".conversation")).to_contain_text("only EMEA?")
    journey.check_accessibility(emma, "ticket page, requester")
    journey.shot(emma, "requester sees the question")
    reply(emma, "Only EMEA; the other regions look right.")
    expect(detail(emma, "Status")).to_have_text("Open")

    # Wei resolves it.
    wei.reload()
    expect(wei.locator(".conversation")).to_contain_text("Only EMEA; the other regions")
    reply(wei, "Fixed: the EMEA filter ignored the month. Totals are right now.", then="Resolved")
    expect(detail(wei, "Status")).to_have_text("Resolved")
    journey.shot(wei, "agent resolved")
    wei.goto(journey.url("/dashboard/me/"))
    journey.check_accessibility(wei, "agent home")
    journey.shot(wei, "agent home")

    # The survey email goes out at once (the worker delivers it); Emma answers from it.
    mail = stack.wait_for_mail(
        to="emma.wilson@example.com", subject_has=f"[{reference}] How did Engineering do?"
    )
    link = re.search(r"Or open the survey: (\S+)", mail.text).group(1)
    assert link.startswith(stack.url + "/survey/")
    survey = journey.anonymous()
    survey.goto(link)
    expect(survey.get_by_role("heading", name="How did we do?")).to_be_visible()
    journey.check_accessibility(survey, "survey")
    survey.get_by_text("Dissatisfied", exact=True).click()
    survey.get_by_label("It took too long").check()
    survey.get_by_label("Anything you would like to tell us? (optional)").fill(
        "Fixed, but the question came a day late."
    )
    journey.shot(survey, "survey filled in")
    survey.get_by_role("button", name="Send my answer").click()
    expect(survey.get_by_role("heading", name="Thank you for your answer")).to_be_visible()
    expect(survey.locator(".survey__answer")).to_contain_text(
        f"2 out of 5 (dissatisfied) for {reference}"
    )
    journey.shot(survey, "survey thanks")

    # The lead: the request counts in the figures, and the low score waits for a follow-up.
    lead.goto(journey.url(f"/dashboard/ENG/{period}"))
    after = dashboard_figures(lead)
    assert after == Figures(
        created=before.created + 1,
        resolved=before.resolved + 1,
        answered=before.answered + 1,
        invited=before.invited + 1,
        dissatisfied=before.dissatisfied + 1,
        open_follow_ups=before.open_follow_ups + 1,
    ), (before, after)
    journey.shot(lead, "lead dashboard after")
    stack.wait_for_mail(
        to="alex.morgan@example.com", subject_has=f"[{reference}] Low satisfaction score: 2/5"
    )
    lead.goto(journey.url("/survey/follow-ups/"))
    follow_up = lead.locator("article.followup").filter(has_text=reference)
    expect(follow_up).to_contain_text("2/5 · Dissatisfied")
    expect(follow_up).to_contain_text("It took too long")
    expect(follow_up).to_contain_text("Fixed, but the question came a day late.")
    journey.check_accessibility(lead, "survey follow-ups")
    journey.shot(lead, "lead follow-up")


# --- Journey 3 -------------------------------------------------------------------------


def expect_not_found(page: Any, path: str, journey: Journey) -> None:
    response = page.goto(journey.url(path))
    assert response is not None and response.status == 404, (path, response and response.status)
    expect(page.get_by_role("heading", name=NOT_FOUND_HEADING)).to_be_visible()


def test_what_people_must_not_see(journey: Journey) -> None:
    # Noah files a desk move; Facilities works it and keeps an internal note with a file.
    noah = journey.sign_in("noah")
    noah.goto(journey.url("/"))
    file_request(
        noah,
        department="Facilities",
        request_type="Desk move",
        title="Move closer to my team",
        description="My team is on the 2nd floor; desk 2.05 is free.",
    )
    noah.get_by_label("Moving date").fill(date.today().isoformat())
    reference = send(noah, "Facilities")
    maria = journey.sign_in("maria")
    maria.goto(journey.url(f"/tickets/{reference}/"))
    maria.locator("form#reply input[name=attachments]").set_input_files(
        files=[{"name": "floor-plan.txt", "mimeType": "text/plain", "buffer": b"2.05: free\n"}]
    )
    reply(maria, "Check with HR that the move is approved before we book it.", internal=True)
    note = maria.locator("article.post--internal").filter(has_text="Check with HR")
    expect(note).to_be_visible()
    file_link = note.get_by_role("link", name=re.compile("floor-plan.txt"))
    file_path = file_link.get_attribute("href")
    assert maria.request.get(journey.url(file_path)).status == 200  # the agent may open it
    journey.shot(maria, "agent internal note")

    # The requester sees neither the note nor its file, even with the file's address.
    noah.goto(journey.url(f"/tickets/{reference}/"))
    expect(noah.get_by_role("heading", level=1)).to_have_text("Move closer to my team")
    expect(noah.locator("main")).not_to_contain_text("Check with HR")
    expect(noah.locator("main")).not_to_contain_text("floor-plan.txt")
    expect(noah.locator("main")).not_to_contain_text("Escalations")
    journey.shot(noah, "requester sees no internal note")
    expect_not_found(noah, file_path, journey)
    journey.shot(noah, "requester opens the note's file by url")
    # Nor an agent's screens.
    expect_not_found(noah, "/queue/FAC/", journey)

    # Another employee opening Noah's request by its address: not found, as if it did not exist.
    claire = journey.sign_in("claire", form=True)
    expect_not_found(claire, f"/tickets/{reference}/", journey)
    journey.check_accessibility(claire, "404 page")
    journey.shot(claire, "another employee opens the request by url")
    response = claire.request.get(journey.url(f"/api/v1/tickets/{reference}/"))
    assert response.status == 404, response.status

    # A confidential payroll request: HR sees it, no other department does, not even the
    # lead of the requester's own department.
    daniel = journey.sign_in("daniel")
    daniel.goto(journey.url("/"))
    file_request(
        daniel,
        department="HR",
        request_type="Payroll correction",
        title="Overtime missing from last payslip",
        description="The 12 hours of overtime from the quarter close are not on my payslip.",
    )
    daniel.get_by_label("Pay date of the payslip").fill(date.today().isoformat())
    daniel.get_by_label("Amount in question (EUR)").fill("480")
    confidential = send(daniel, "HR")
    expect(daniel.locator(".ticket-head__meta")).to_contain_text("Confidential")
    sofia = journey.sign_in("sofia")
    sofia.goto(journey.url(f"/tickets/{confidential}/"))
    expect(sofia.get_by_role("heading", level=1)).to_have_text("Overtime missing from last payslip")
    journey.shot(sofia, "hr agent sees the confidential request")
    for username in ("priya", "robert"):  # an IT agent; the lead of Sales, Daniel's department
        outsider = journey.sign_in(username)
        expect_not_found(outsider, f"/tickets/{confidential}/", journey)
        response = outsider.request.get(journey.url(f"/api/v1/tickets/{confidential}/"))
        assert response.status == 404, (username, response.status)
    journey.shot(outsider, "another department opens the confidential request")

    # An IT agent opening HR's dashboard: forbidden, with the app's own page.
    response = outsider.goto(journey.url("/dashboard/HR/"))
    assert response is not None and response.status == 403, response and response.status
    expect(outsider.get_by_role("heading", name=FORBIDDEN_HEADING)).to_be_visible()
    journey.check_accessibility(outsider, "403 page")
    journey.shot(outsider, "another department's dashboard is forbidden")


# --- Journey 2 ends last ----------------------------------------------------------------


def test_an_sla_breach_escalates_to_the_lead(breach: Breach) -> None:
    journey, reference = breach.journey, breach.reference
    stack = journey.stack
    assert breach.first_assignee not in ("", "Unassigned", "Sarah Mitchell"), breach.first_assignee

    # Sarah, the Customer Support lead, is told by email once the minute is over and the
    # sweep (every few seconds here) has recorded the breach.
    remaining = 60 - (time.monotonic() - breach.filed_at)
    mail = stack.wait_for_mail(
        to="sarah.mitchell@example.com",
        subject_has=f"[{reference}]",
        text_has=f"Escalation level 1 ({BREACH_RULE}): First response target breached.",
        timeout=max(0, remaining) + 6 * SWEEP_SECONDS + 30,
    )
    assert BREACH_NOTE in mail.text
    # The reassignment tells her too, as any assignment does.
    stack.wait_for_mail(
        to="sarah.mitchell@example.com",
        subject_has=f"[{reference}]",
        text_has="This ticket was assigned to you.",
    )

    sarah = journey.sign_in("sarah")
    sarah.goto(journey.url(f"/tickets/{reference}/"))
    expect(detail(sarah, "Assignee")).to_contain_text("Sarah Mitchell")
    sla = sarah.locator(".sla-card")
    expect(sla).to_contain_text("Escalated · level 1")
    expect(sla.locator(".sla-event--breach")).to_contain_text("First response target breached")
    expect(sla.locator(".sla-event--breach")).to_contain_text(f"Level 1 “{BREACH_RULE}”")
    expect(sla.locator(".sla-event--breach")).to_contain_text("assigned to Sarah Mitchell")
    # The breach is recorded at the instant the target ran out: one minute after filing.
    filed = sarah.locator(".ticket-main .post__head time").first.get_attribute("datetime")
    breached = sla.locator(".sla-event--breach time").first.get_attribute("datetime")
    late = datetime.fromisoformat(breached) - datetime.fromisoformat(filed)
    assert timedelta(seconds=59) <= late <= timedelta(seconds=61), (filed, breached)
    activity = sarah.locator("ol.activity")
    expect(activity).to_contain_text(f"Service desk escalated it: Level 1: {BREACH_RULE}")
    expect(activity).to_contain_text("assigned to Sarah Mitchell")
    journey.check_accessibility(sarah, "ticket page, escalated")
    journey.shot(sarah, "lead sees the escalation")

    # It is among the department's breached tickets in the queue.
    sarah.goto(journey.url("/queue/CS/?status=active&sla=breached&sort=due"))
    expect(sarah.locator(f"a[href='/tickets/{reference}/']").first).to_be_visible()
    journey.shot(sarah, "breached in the queue")

    # The requester sees the new assignee, not the escalation.
    noah = journey.pages[0]
    noah.reload()
    expect(detail(noah, "Assignee")).to_contain_text("Sarah Mitchell")
    expect(noah.locator("main")).not_to_contain_text("Escalat")
    journey.shot(noah, "requester sees the new assignee")
