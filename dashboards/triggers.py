"""The triggers that keep the daily aggregates honest (PostgreSQL; migrations 0001-0003).

Every write path to tickets, SLA clocks and survey invitations (the services, the
sweep's SQL, admin, bulk loads) passes through them, which a hook in each service could
not promise. A change that a rolled day counts notes (department, UTC date) of each
instant it touches, old and new, in dashboards_staleday: an insert, no row that two
writers update. Instants under 12 hours old are not noted: they lie on days no roll-up
covers yet (the roll-up rolls a day up only ROLL_AFTER after it ended, dashboards.daily).
The triggers' WHEN conditions say the same before the function is called: a row whose
instants are all that young (a ticket or clock being filed, a recent ticket's
assignment or status change) queues no trigger event and calls no function (migration
0005; PostgreSQL replanned the function's INSERT on every call, the cutoff folded into
its plan: 1.3 % of its instructions per API filing, three calls, measured under
callgrind).
"""

from __future__ import annotations

# Instants newer than this lie on days no roll-up covers yet.
CUTOFF = "now() - interval '12 hours'"
MARK = f"""
    INSERT INTO dashboards_staleday (department_id, day)
    SELECT DISTINCT d, (i AT TIME ZONE 'UTC')::date FROM (VALUES {{values}}) AS v (d, i)
    WHERE d IS NOT NULL AND i < {CUTOFF};
"""  # noqa: S608 (a constant)


def _function(name: str, columns: tuple[str, ...]) -> str:
    def values(row: str) -> str:
        return ", ".join(f"({row}.department_id, {row}.{column})" for column in columns)

    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {MARK.format(values=values("NEW"))}
    ELSIF TG_OP = 'DELETE' THEN
        {MARK.format(values=values("OLD"))}
    ELSE
        {MARK.format(values=values("OLD") + ", " + values("NEW"))}
    END IF;
    RETURN NULL;
END $$;
"""


def _triggers(
    table: str, function: str, watched: tuple[str, ...], instants: tuple[str, ...]
) -> str:
    """The table's triggers calling `function` (which marks the days of `instants`, old
    and new, older than the cutoff) on an insert, a delete, and an update of a `watched`
    column; each only when one of the row's instants is older than the cutoff."""

    def old_enough(*rows: str) -> str:
        return " OR ".join(f"{row}.{c} < {CUTOFF}" for row in rows for c in instants)

    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    return f"""
CREATE TRIGGER {table}_stale_ins AFTER INSERT ON {table}
    FOR EACH ROW WHEN ({old_enough("NEW")}) EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_stale_del AFTER DELETE ON {table}
    FOR EACH ROW WHEN ({old_enough("OLD")}) EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_stale_upd AFTER UPDATE ON {table}
    FOR EACH ROW WHEN (({changed}) AND ({old_enough("OLD", "NEW")}))
    EXECUTE FUNCTION {function}();
"""


def _drop_triggers(table: str) -> str:
    # With the names before 0005 (one trigger for inserts and deletes).
    return "".join(
        f"DROP TRIGGER IF EXISTS {table}_stale_{kind} ON {table};\n"
        for kind in ("ins_del", "ins", "del", "upd")
    )


# What a day's figures read from each table (dashboards.daily.DAILY_SQL).
TICKET_COLUMNS = (
    "department_id", "requesting_department_id", "request_type_id", "assignee_id",
    "priority", "created_at", "resolved_at", "status", "reopen_count",
)  # fmt: skip
CLOCK_COLUMNS = (
    "department_id", "kind", "state", "met_at", "stopped_at", "breached_at",
    "consumed_seconds", "finished_requesting_department_id", "finished_request_type_id",
    "finished_assignee_id", "finished_priority",
)  # fmt: skip

TICKET_INSTANTS = ("created_at", "resolved_at")
CLOCK_INSTANTS = ("met_at", "stopped_at")
INVITATION_INSTANTS = ("created_at",)

CREATE = (
    _function("dashboards_ticket_stale", TICKET_INSTANTS)
    + _triggers("tickets_ticket", "dashboards_ticket_stale", TICKET_COLUMNS, TICKET_INSTANTS)
    + _function("dashboards_clock_stale", CLOCK_INSTANTS)
    + _triggers("slas_slaclock", "dashboards_clock_stale", CLOCK_COLUMNS, CLOCK_INSTANTS)
)
# The survey figures (dashboards 0002): an invitation counts on the day it was created;
# by SLA met (0003) in the group of its sla_met (set at the resolution, never moved by the
# services; a change made by hand re-rolls its day).
INVITATION_COLUMNS = (
    "department_id", "requesting_department_id", "created_at", "withdrawn_at", "score",
    "nps", "anonymous", "sla_met",
)  # fmt: skip
CREATE_INVITATIONS = _function("dashboards_invitation_stale", INVITATION_INSTANTS) + _triggers(
    "surveys_surveyinvitation", "dashboards_invitation_stale", INVITATION_COLUMNS,
    INVITATION_INSTANTS,
)  # fmt: skip
DROP_INVITATIONS = (
    _drop_triggers("surveys_surveyinvitation")
    + "DROP FUNCTION IF EXISTS dashboards_invitation_stale();\n"
)
DROP = (
    _drop_triggers("tickets_ticket")
    + _drop_triggers("slas_slaclock")
    + "DROP FUNCTION IF EXISTS dashboards_ticket_stale();\n"
    + "DROP FUNCTION IF EXISTS dashboards_clock_stale();\n"
)
