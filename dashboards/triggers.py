"""The triggers that keep the daily aggregates honest (PostgreSQL; migrations 0001-0003).

Every write path to tickets, SLA clocks and survey invitations (the services, the
sweep's SQL, admin, bulk loads) passes through them, which a hook in each service could
not promise. A change that a rolled day counts notes (department, UTC date) of each
instant it touches, old and new, in dashboards_staleday: an insert, no row that two
writers update. Instants under 12 hours old are not noted: they lie on days no roll-up
covers yet (the roll-up rolls a day up only ROLL_AFTER after it ended, dashboards.daily),
so filing a ticket costs one function call and nothing more.
"""

from __future__ import annotations

MARK = """
    INSERT INTO dashboards_staleday (department_id, day)
    SELECT DISTINCT d, (i AT TIME ZONE 'UTC')::date FROM (VALUES {values}) AS v (d, i)
    WHERE d IS NOT NULL AND i < now() - interval '12 hours';
"""


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


def _triggers(table: str, function: str, watched: tuple[str, ...]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    return f"""
CREATE TRIGGER {table}_stale_ins_del AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_stale_upd AFTER UPDATE ON {table}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}();
"""


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

CREATE = (
    _function("dashboards_ticket_stale", ("created_at", "resolved_at"))
    + _triggers("tickets_ticket", "dashboards_ticket_stale", TICKET_COLUMNS)
    + _function("dashboards_clock_stale", ("met_at", "stopped_at"))
    + _triggers("slas_slaclock", "dashboards_clock_stale", CLOCK_COLUMNS)
)
# The survey figures (dashboards 0002): an invitation counts on the day it was created;
# by SLA met (0003) in the group of its sla_met (set at the resolution, never moved by the
# services; a change made by hand re-rolls its day).
INVITATION_COLUMNS = (
    "department_id", "requesting_department_id", "created_at", "withdrawn_at", "score",
    "nps", "anonymous", "sla_met",
)  # fmt: skip
CREATE_INVITATIONS = _function("dashboards_invitation_stale", ("created_at",)) + _triggers(
    "surveys_surveyinvitation", "dashboards_invitation_stale", INVITATION_COLUMNS
)
DROP_INVITATIONS = """
DROP TRIGGER IF EXISTS surveys_surveyinvitation_stale_ins_del ON surveys_surveyinvitation;
DROP TRIGGER IF EXISTS surveys_surveyinvitation_stale_upd ON surveys_surveyinvitation;
DROP FUNCTION IF EXISTS dashboards_invitation_stale();
"""
DROP = """
DROP TRIGGER IF EXISTS tickets_ticket_stale_ins_del ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_stale_upd ON tickets_ticket;
DROP TRIGGER IF EXISTS slas_slaclock_stale_ins_del ON slas_slaclock;
DROP TRIGGER IF EXISTS slas_slaclock_stale_upd ON slas_slaclock;
DROP FUNCTION IF EXISTS dashboards_ticket_stale();
DROP FUNCTION IF EXISTS dashboards_clock_stale();
"""
