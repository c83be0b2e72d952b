"""Take screenshots of every main screen, for review and for the docs.

Needs a running server with some data, Playwright for Python (`pip install playwright`)
and a Chromium binary (no `playwright install` needed):

    .venv/bin/python scripts/screenshots.py [OUTPUT_DIR] [--base-url URL]
        [--requester USER] [--agent USER] [--empty-user USER] [--password PASSWORD]
        [--ticket REFERENCE] [--department CODE] [--dark] [--error-pages] [--chromium PATH]
        [--escalations] [--admin USER] [--lead USER]

It signs in through the login form as each user, visits each screen at 1280 px wide
(and the ticket page at 390 px, a phone), and writes one PNG per screen to OUTPUT_DIR
(default docs/screenshots/). Nothing is changed on the server except that one
deliberately empty filing form is submitted to capture its error state.

With --escalations it also captures the escalation rules in Django admin (as --admin)
and, as the department lead (--lead), the ticket page of a ticket whose SLA was breached
and escalated (found through the SLA events admin list), e.g. after `make run`'s seed:

    .venv/bin/python scripts/screenshots.py --password demo --escalations --only-escalations

With --only-dashboards it captures the lead dashboard and the department map (as --lead)
and the agent's home (as --agent; `make run`'s seed: --agent priya):

    .venv/bin/python scripts/screenshots.py --password demo --agent priya --only-dashboards

With --only-knowledge it captures the help articles: the requester's home, a search, an
article, the new-request form with the articles its title suggests (IT's "Laptop or
hardware problem" form) and, as --agent, the department's article list:

    .venv/bin/python scripts/screenshots.py --password demo --agent priya --only-knowledge
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

# Chromium's path and flags are the browser tests' (one place for both).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

DESKTOP: ViewportSize = {"width": 1280, "height": 860}
MOBILE: ViewportSize = {"width": 390, "height": 844}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--requester", default="emma", help="an employee with a few requests")
    parser.add_argument("--agent", default="sam", help="an agent of a department with tickets")
    parser.add_argument("--empty-user", default="", help="a user with no requests (empty state)")
    parser.add_argument(
        "--password", default=os.environ.get("SCREENSHOT_PASSWORD", "demo-pass-123")
    )
    parser.add_argument(
        "--ticket", default="", help="ticket reference to show (default: the requester's newest)"
    )
    parser.add_argument(
        "--department", default="", help="department code for the filing form (default: first)"
    )
    parser.add_argument("--dark", action="store_true", help="also capture dark-mode variants")
    parser.add_argument(
        "--error-pages", action="store_true", help="capture the 404 page (needs DEBUG=false)"
    )
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument(
        "--escalations", action="store_true", help="also capture escalation rules and events"
    )
    parser.add_argument(
        "--only-escalations", action="store_true", help="capture the escalation screens only"
    )
    parser.add_argument(
        "--only-dashboards",
        action="store_true",
        help="capture the lead dashboard, the department map and the agent home only",
    )
    parser.add_argument(
        "--only-knowledge",
        action="store_true",
        help="capture the help articles: home, search, an article, suggestions while filing",
    )
    parser.add_argument("--admin", default="admin", help="a superuser, for Django admin")
    parser.add_argument("--lead", default="david", help="a department lead")
    parser.add_argument("--lead-department", default="IT", help="the code of the lead's department")
    return parser.parse_args()


class Shooter:
    def __init__(self, browser: Browser, args: argparse.Namespace, out: Path) -> None:
        self.browser = browser
        self.args = args
        self.out = out

    def url(self, path: str) -> str:
        return urljoin(self.args.base_url.rstrip("/") + "/", path.lstrip("/"))

    def session(
        self, username: str | None, *, viewport: ViewportSize = DESKTOP, dark: bool = False
    ) -> Page:
        context = self.browser.new_context(
            viewport=viewport,
            device_scale_factor=1,
            color_scheme="dark" if dark else "light",
            is_mobile=viewport is MOBILE,
            has_touch=viewport is MOBILE,
        )
        page = context.new_page()
        if username:
            page.goto(self.url("/login/"))
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", self.args.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/login/" in page.url:
                sys.exit(f"Could not sign in as {username!r}; check --password.")
        return page

    def shot(self, page: Page, name: str, *, full_page: bool = True) -> None:
        page.wait_for_load_state("networkidle")
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        print(f"  {path}  ({page.url})")

    def visit(self, page: Page, path: str, name: str) -> None:
        response = page.goto(self.url(path))
        status = response.status if response else "?"
        if response and response.status >= 500:
            print(f"  ! {path} answered {status}", file=sys.stderr)
        self.shot(page, name)


def escalation_shots(s: Shooter, args: argparse.Namespace) -> None:
    print(f"Admin: {args.admin}")
    page = s.session(args.admin)
    s.visit(page, "/admin/slas/escalationrule/", "21-admin-escalation-rules")
    page.goto(s.url("/admin/slas/escalationrule/?level__exact=3"))  # one with several actions
    page.click("#result_list tbody tr th a")
    s.shot(page, "22-admin-escalation-rule")
    s.visit(page, "/admin/slas/slaevent/?kind__exact=breach", "23-admin-sla-events")
    references = page.locator("#result_list tbody tr td.field-ticket_reference a").all_inner_texts()
    prefix = f"{args.lead_department}-"
    reference = args.ticket or next((r for r in references if r.startswith(prefix)), "")
    if not reference:
        sys.exit(f"No breached ticket of {args.lead_department} in the SLA events; pass --ticket.")
    page.context.close()

    print(f"Lead: {args.lead}")
    page = s.session(args.lead)
    s.visit(page, f"/tickets/{reference}/", "24-ticket-escalations")
    page.context.close()


def dashboard_shots(s: Shooter, args: argparse.Namespace) -> None:
    print(f"Lead: {args.lead}")
    page = s.session(args.lead)
    s.visit(page, f"/dashboard/{args.lead_department}/", "29-lead-dashboard")
    s.visit(page, "/dashboard/map/", "31-department-map")
    page.context.close()
    print(f"Agent: {args.agent}")
    page = s.session(args.agent)
    s.visit(page, "/dashboard/me/", "30-agent-home")
    page.context.close()


def knowledge_shots(s: Shooter, args: argparse.Namespace) -> None:
    print(f"Requester: {args.requester}")
    page = s.session(args.requester)
    s.visit(page, "/kb/", "33-help-articles")
    s.visit(page, "/kb/search/?q=printer+not+printing", "34-help-search")
    page.click(".kb-list a")
    s.shot(page, "35-help-article")
    page.goto(s.url("/requests/new/IT/"))
    page.get_by_role("link", name="Laptop or hardware problem").click()
    page.get_by_label("Title").press_sequentially("My printer is jammed", delay=30)
    page.locator("#kb-suggestions .kb-list a").first.wait_for()
    s.shot(page, "36-new-request-suggestions", full_page=False)
    page.context.close()
    print(f"Agent: {args.agent}")
    page = s.session(args.agent)
    s.visit(page, "/kb/departments/IT/", "37-help-articles-agent")
    page.context.close()


def run(args: argparse.Namespace) -> None:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        s = Shooter(browser, args, out)
        if args.escalations or args.only_escalations:
            escalation_shots(s, args)
        if args.only_dashboards:
            dashboard_shots(s, args)
        if args.only_knowledge:
            knowledge_shots(s, args)
        if args.only_escalations or args.only_dashboards or args.only_knowledge:
            browser.close()
            return

        print("Signed out")
        page = s.session(None)
        s.visit(page, "/login/", "01-login")
        page.context.close()

        print(f"Requester: {args.requester}")
        page = s.session(args.requester)
        s.visit(page, "/requests/new/", "02-new-request-departments")
        if args.department:
            page.goto(s.url(f"/requests/new/{args.department}/"))
        else:
            page.click(".choice-card__link")
        s.shot(page, "03-new-request-types")
        page.click(".choice-card__link")
        s.shot(page, "04-new-request-form")
        page.click("form.card button[type=submit]")
        s.shot(page, "05-new-request-form-errors")
        s.visit(page, "/requests/", "06-my-requests")
        s.visit(page, "/requests/?status=closed", "07-my-requests-filtered")
        reference = args.ticket
        if not reference:
            page.goto(s.url("/requests/"))
            reference = page.locator("td .ref").first.inner_text()
        s.visit(page, f"/tickets/{reference}/", "08-ticket-requester")
        if args.error_pages:
            s.visit(page, "/tickets/NOPE-0/", "09-not-found")
        page.context.close()

        page = s.session(args.requester, viewport=MOBILE)
        s.visit(page, f"/tickets/{reference}/", "10-ticket-requester-mobile")
        s.visit(page, "/requests/", "11-my-requests-mobile")
        page.context.close()

        print(f"Agent: {args.agent}")
        page = s.session(args.agent)
        s.visit(page, "/queue/", "12-queue")
        queue_url = page.url.split("?")[0]
        # Type into the search box: htmx swaps the table in place and pushes the URL.
        page.locator("input[name=q]").press_sequentially("laptop", delay=40)
        page.wait_for_function("location.search.includes('q=laptop')", timeout=5000)
        s.shot(page, "13-queue-search-htmx")
        s.visit(page, queue_url + "?status=&q=zzzz-no-match", "14-queue-empty")
        s.visit(page, f"/tickets/{reference}/", "15-ticket-agent")
        page.check("input[name=is_internal]")
        page.locator("#reply").scroll_into_view_if_needed()
        s.shot(page, "16-ticket-agent-internal-composer", full_page=False)
        page.context.close()

        page = s.session(args.agent, viewport=MOBILE)
        s.visit(page, f"/tickets/{reference}/", "17-ticket-agent-mobile")
        s.visit(page, "/queue/", "18-queue-mobile")
        page.context.close()

        if args.empty_user:
            print(f"Empty state: {args.empty_user}")
            page = s.session(args.empty_user)
            s.visit(page, "/requests/", "19-my-requests-empty")
            page.context.close()

        if args.dark:
            print("Dark mode")
            page = s.session(args.agent, dark=True)
            s.visit(page, "/queue/", "20-dark-queue")
            s.visit(page, f"/tickets/{reference}/", "21-dark-ticket-agent")
            page.context.close()

        browser.close()


if __name__ == "__main__":
    run(parse_args())
