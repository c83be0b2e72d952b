from django.db import migrations


def young_rows_skip(apps, schema_editor):
    # The stale-day triggers again, each with a WHEN that skips rows whose instants are
    # all newer than the cutoff (dashboards.triggers): the function marked nothing for
    # them, after a trigger event, a call, and a replan of its INSERT.
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import CREATE, CREATE_INVITATIONS, DROP, DROP_INVITATIONS

        schema_editor.execute(DROP + DROP_INVITATIONS)
        schema_editor.execute(CREATE + CREATE_INVITATIONS)


def every_row(apps, schema_editor):
    # The triggers as 0001-0004 left them: one for inserts and deletes, one for updates of
    # a watched column, each calling the function for every such row.
    if schema_editor.connection.vendor != "postgresql":
        return
    from dashboards import triggers

    for table, function, watched in (
        ("tickets_ticket", "dashboards_ticket_stale", triggers.TICKET_COLUMNS),
        ("slas_slaclock", "dashboards_clock_stale", triggers.CLOCK_COLUMNS),
        ("surveys_surveyinvitation", "dashboards_invitation_stale", triggers.INVITATION_COLUMNS),
    ):
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
        schema_editor.execute(
            "".join(
                f"DROP TRIGGER IF EXISTS {table}_stale_{kind} ON {table};"
                for kind in ("ins", "del", "upd")
            )
            + f"CREATE TRIGGER {table}_stale_ins_del AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}();"
            f"CREATE TRIGGER {table}_stale_upd AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}();"
        )


class Migration(migrations.Migration):
    """The stale-day triggers fire only for rows with an instant older than the cutoff
    (filing a ticket no longer calls the function, once for the ticket and once per
    clock). What they mark is unchanged."""

    dependencies = [("dashboards", "0004_survey_sla")]

    operations = [migrations.RunPython(young_rows_skip, every_row)]
