"""Run the benchmarks: `make bench`, or `.venv/bin/python bench/run.py [--tickets N] [...]`.

Each benchmark is a module of this package with `run(options) -> str` returning a
Markdown section, which is printed and written into docs/benchmarks.md between the
module's markers. Those that need a database run against a dedicated PostgreSQL
database (never the one you develop on), created when missing and seeded with
`seed_scale` when it has too few tickets; a second run reuses the data. The others
(`clock`, pure Python) run without PostgreSQL and without Django.

Settings are production-like: DEBUG off (no query log, no template debug info), sessions
in the database. Static files use the plain storage, because a manifest would need a
collectstatic run first and does not change what a page costs.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Running this file puts bench/ first on sys.path, and bench/queue.py would then shadow
# the standard library's `queue` for everything imported later (Celery, urllib3, ...).
# Import the benchmarks as the `bench` package from the project root instead.
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from urllib.parse import unquote, urlparse  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/servicedesk_bench"
BENCHMARKS = {
    "queue": "bench.queue",
    "clock": "bench.clock",
    "filing": "bench.filing",
    "sweep": "bench.sweep",
    "detection": "bench.detection",
    "drain": "bench.drain",
    "dashboards": "bench.dashboards",
    "api": "bench.api",
    "apifiling": "bench.apifiling",
    "knowledge": "bench.knowledge",
}
# Pure-Python benchmarks: no database is created, migrated or asked about for them alone.
WITHOUT_DATABASE = {"clock"}
DOCS = ROOT / "docs" / "benchmarks.md"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL database to use (created if missing). Default: %(default)s",
    )
    parser.add_argument(
        "--tickets", type=int, default=1_000_000, help="Tickets the database should hold."
    )
    parser.add_argument(
        "--dashboard-tickets",
        type=int,
        default=2_000_000,
        help="Tickets of the dashboards' history (a database of its own, see "
        "bench/dashboards.py; default 2,000,000).",
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="Timed requests per scenario (default 200)."
    )
    parser.add_argument(
        "--api-seconds",
        type=float,
        default=20.0,
        help="apifiling: seconds of sustained filing through the API (default 20).",
    )
    parser.add_argument(
        "--api-workers",
        type=int,
        default=0,
        help="apifiling: gunicorn processes (WEB_CONCURRENCY; default gunicorn.conf.py's).",
    )
    parser.add_argument(
        "--filings", type=int, default=300, help="Timed filings per variant (default 300)."
    )
    parser.add_argument(
        "--sla-tickets",
        type=int,
        default=20_000,
        help="Open tickets with SLA clocks for the recompute benchmark (default 20,000).",
    )
    parser.add_argument(
        "--sweep-tickets",
        type=int,
        default=1_000_000,
        help="Open tickets of the large desk for sweep, detection and drain (default "
        "1,000,000; a database of its own, see bench/opendesk.py).",
    )
    parser.add_argument(
        "--sweep-reps", type=int, default=100, help="Timed sweeps per desk (default 100)."
    )
    parser.add_argument(
        "--detection-clocks",
        type=int,
        default=6_000,
        help="Clocks falling due during the detection benchmark (default 6,000).",
    )
    parser.add_argument(
        "--drain-deadlines", type=int, default=200_000, help="Backlog to drain (default 200,000)."
    )
    parser.add_argument(
        "--drain-actions-seconds",
        type=float,
        default=240.0,
        help="How long the drain benchmark watches the escalation actions after the backlog "
        "is recorded before it stops the workers (default 240).",
    )
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="Run these.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"Run these (as --only): {', '.join(BENCHMARKS)}."
    )
    parser.add_argument("--no-docs", action="store_true", help="Don't update docs/benchmarks.md.")
    parser.add_argument("--seed", type=int, default=7, help="Random seed for request parameters.")
    options = parser.parse_args(argv)
    unknown = [name for name in options.names if name not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    options.only = [*(options.only or []), *options.names] or None
    return options


def ensure_database(url: str) -> None:
    """Create the benchmark database if it doesn't exist (connecting to `postgres`)."""
    import psycopg2

    parts = urlparse(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"bench: a PostgreSQL DATABASE_URL is needed, not {url!r}.")
    name = unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"bench: unexpected database name {name!r}.")
    connection = psycopg2.connect(
        dbname="postgres",
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=parts.hostname or "",
        port=parts.port or 5432,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"Creating database {name}...")
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 32)
    os.environ.setdefault("SERVICEDESK_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    import django
    from django.conf import settings

    django.setup()
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns otherwise
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def machine_description(with_database: bool) -> str:
    database = ""
    if with_database:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            shared_buffers = cursor.fetchone()[0]
        database = f", PostgreSQL {pg_version} (shared_buffers {shared_buffers}, same machine)"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}{database}; "
        f"load average at the end: {load}"
    )


def update_docs(sections: dict[str, str], headers: dict[str, str]) -> None:
    """Replace each benchmark's section between its markers, keeping everything else."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    for name, body in sections.items():
        start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
        title = getattr(importlib.import_module(BENCHMARKS[name]), "TITLE", name)
        block = f"{start}\n## {title}\n\n{headers[name]}\n{body.strip()}\n{end}"
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _, block=block: block, text)
        else:
            text = f"{text.rstrip()}\n\n{block}\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    started = time.monotonic()
    names = options.only or list(BENCHMARKS)
    with_database = any(name not in WITHOUT_DATABASE for name in names)
    if with_database:
        # Django is set up first (settings only, no connection yet): benchmark modules
        # such as bench/sweep.py import models at their top. Benchmarks with a database
        # of their own alone (`own_database_url`) leave the main one alone: their run()
        # points Django at theirs (bench/dashboards.py use_own_database).
        setup_django(options.database_url)
        own = {
            module.own_database_url(options)
            for module in map(importlib.import_module, (BENCHMARKS[name] for name in names))
            if hasattr(module, "own_database_url")
        }
        alone = len(own) == 1 and all(
            hasattr(importlib.import_module(BENCHMARKS[name]), "own_database_url") for name in names
        )
        if not alone:
            ensure_database(options.database_url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
    sections, seconds = {}, {}
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        section_started = time.monotonic()
        sections[name] = module.run(options)
        seconds[name] = time.monotonic() - section_started
        print(sections[name])
    command = "make bench" + (f' ARGS="{" ".join(argv)}"' if argv else "")
    machine = machine_description(with_database)
    total = time.monotonic() - started
    headers = {
        name: (
            f"_Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; this "
            f"section took {seconds[name]:.0f} s of the run's {total:.0f} s. "
            f"Machine: {machine}._\n"
        )
        for name in sections
    }
    print(f"Whole run: {total:.0f} s. Machine: {machine}.")
    if not options.no_docs:
        update_docs(sections, headers)
        print(f"Updated {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
