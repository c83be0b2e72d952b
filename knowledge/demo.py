"""The demo company's help articles (seed_demo): a few real-looking answers per
department, written through the services by one of its agents, and some reading of them
(views, feedback, searches, a few requests not filed) so the lead dashboard has figures."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from accounts.models import User
from knowledge import services
from knowledge.models import Article, Category
from tickets.models import Department, Membership

# (department code, category, title, body, internal)
ARTICLES: list[tuple[str, str, str, str, bool]] = [
    ("IT", "Accounts and passwords", "Reset a forgotten password",
     "1. Go to the **self-service portal** (`https://password.example.com`) from any device.\n"
     "2. Enter your username and answer the verification questions or approve the push on "
     "your phone.\n3. Choose a new password: at least 12 characters, not one of your last "
     "five.\n\nYour laptop asks for the new password the next time it is on the office "
     "network or the VPN. Still locked out after three tries? File a request and say when "
     "it started.", False),
    ("IT", "Remote work", "Connect to the VPN from home",
     "Open **GlobalProtect** from the system tray and press *Connect*. Sign in with your "
     "usual password and approve the prompt in the authenticator app.\n\n"
     "- *Connection failed*: check that your home internet works without the VPN first.\n"
     "- *Certificate error*: your laptop has not been on the office network for 90 days; "
     "bring it in or file a request.\n- Slow? Video calls do not need the VPN: disconnect "
     "while you are in Teams.", False),
    ("IT", "Hardware", "Printer jammed or offline",
     "Open the front cover and tray 2 and pull any stuck paper out *gently*, in the "
     "direction the paper travels. Close everything and wait for the green light.\n\n"
     "If the printer shows *offline* on your laptop, remove it under Settings → Printers "
     "and add it again from `\\\\print01`. Toner is ordered automatically; no need to ask.",
     False),
    ("IT", "Hardware", "Laptop battery does not charge",
     "Try another wall socket and the charger of a colleague with the same model. If the "
     "battery icon shows a cross, the battery needs replacing: file a *Hardware* request "
     "with the asset tag on the bottom of the laptop. We swap batteries at the IT desk "
     "within two working days.", False),
    ("IT", "Procedures", "Re-imaging a laptop (agents)",
     "Boot with F12, choose *Network boot* and pick the **Standard 2026** image. Takes 40 "
     "minutes. Before: check BitLocker recovery key is in the directory. After: assign the "
     "device to the user in the asset register.", True),
    ("HR", "Leave", "Request parental leave",
     "Tell your manager as early as you can, then file a *Leave* request with the expected "
     "date and how long you plan to be away. HR confirms your entitlement within a week "
     "and sends the forms for the statutory pay.\n\nYou can split the leave into up to "
     "three blocks; each needs four weeks' notice.", False),
    ("HR", "Pay", "When is payday and where is my payslip?",
     "Salaries are paid on the **25th** of each month (the working day before when it is a "
     "weekend or holiday). Payslips appear in the HR portal under *My documents* two days "
     "earlier. Something wrong on it? File a *Payslip question* before the 5th of the "
     "next month so it can be corrected in the next run.", False),
    ("HR", "Working here", "Ask for a reference letter",
     "File a *Reference letter* request saying who it is for and whether it should mention "
     "your salary. Letters are signed by HR and ready within five working days.", False),
    ("FIN", "Expenses", "Submit an expense report",
     "Photograph each receipt, then create a report in the expenses app within **30 days** "
     "of spending. Choose the cost centre of your department unless a project code "
     "applies. Your manager approves; Finance pays with the next weekly run.\n\n"
     "Lost a receipt? Add a note explaining what it was and attach the card statement.",
     False),
    ("FIN", "Expenses", "Mileage and per diem rates",
     "| What | Rate |\n|---|---|\n| Car, per km | 0.30 |\n| Per diem, full day | 45.00 |\n"
     "| Per diem, half day | 22.50 |\n\nRates are reviewed every January.", False),
    ("FIN", "Suppliers", "How long until a supplier is paid?",
     "Invoices approved by the budget holder are paid on the next Thursday run, within 30 "
     "days of the invoice date. Urgent payments need the Finance Director's approval.",
     False),
    ("FAC", "Rooms and desks", "Book a meeting room or desk",
     "Use the *Rooms* tab in Outlook, or the desk-booking app for desks. Rooms with a "
     "screen are marked 📺. Cancel bookings you no longer need: rooms released 15 minutes "
     "after the start time without check-in.", False),
    ("FAC", "Building", "Too hot or too cold in the office",
     "Each floor has a thermostat by the lifts (21 °C by default). If changing it does not "
     "help within an hour, file a *Heating and cooling* request with the floor and the "
     "side of the building.", False),
    ("ENG", "Internal tools", "Reporting dashboard: totals stay the same for every month",
     "The dashboard caches a region's totals for an hour. If the totals do not change when "
     "you pick another month, press **Refresh data** (top right) and pick the month again."
     "\n\nStill the same after a refresh? File a *Bug in an internal tool* request with "
     "the region, the months you compared and a screenshot.", False),
    ("FAC", "Building", "Parking permits",
     "Permits are issued to people who drive in at least three days a week and to anyone "
     "with a medical need. File a *Parking* request with your number plate.", False),
]  # fmt: skip
EMPTY_SEARCHES = ["docking station", "ergonomic chair", "visa letter", "shuttle bus", "wifi"]


def create_demo_articles(*, now: datetime, rng: random.Random) -> int:
    """Write the articles (months ago, reviewed since at various times) and some use of
    them in the last weeks; returns how many articles. Departments absent are skipped."""
    departments = {d.code: d for d in Department.objects.all()}
    written: list[Article] = []
    for code, category_name, title, body, internal in ARTICLES:
        department = departments.get(code)
        owner = _first_agent(department) if department else None
        if department is None or owner is None:
            continue
        category, _ = Category.objects.get_or_create(department=department, name=category_name)
        at = now - timedelta(days=rng.randint(60, 400))
        article = services.article_create(
            actor=owner, department=department, title=title, body=body, category=category,
            is_internal=internal, status=Article.Status.PUBLISHED, now=at,
        )  # fmt: skip
        if rng.random() < 0.6:
            review_at = now - timedelta(days=rng.randint(1, 150))
            services.article_mark_reviewed(article=article, actor=owner, now=review_at)
        written.append(article)
    readers = list(User.objects.filter(memberships__isnull=True, is_active=True)[:40])
    if not readers:
        return len(written)
    public = [a for a in written if not a.is_internal]
    for article in public:
        for reader in rng.sample(readers, k=min(len(readers), rng.randint(3, 15))):
            at = now - timedelta(days=rng.uniform(0, 28))
            services.article_view_record(article=article, user=reader, now=at)
            if rng.random() < 0.35:
                services.article_feedback_give(
                    article=article, user=reader, helpful=rng.random() < 0.75, now=at
                )
    for query in EMPTY_SEARCHES:
        department = departments.get(rng.choice(["IT", "HR", "FIN", "FAC"]))
        for _ in range(rng.randint(1, 4)):
            at = now - timedelta(days=rng.uniform(0, 28))
            services.search_record(query=query, department=department, result_count=0, now=at)
    # Requests not filed after reading a suggestion (deflections), some days ago.
    for article in rng.sample(public, k=min(6, len(public))):
        at = now - timedelta(days=rng.uniform(2, 25))
        reader, token = rng.choice(readers), secrets.token_urlsafe(24)
        services.filing_suggestions_record(
            token=token, user=reader, department=article.department, query=article.title,
            articles=[article], now=at,
        )  # fmt: skip
        services.article_view_record(article=article, user=reader, filing_token=token, now=at)
    return len(written)


def _first_agent(department: Department) -> User | None:
    membership = (
        Membership.objects.filter(department=department, user__is_active=True)
        .select_related("user")
        .order_by("role", "pk")  # "agent" before "lead"
        .first()
    )
    return membership.user if membership else None
