"""Daily aggregates behind the lead dashboard and the department map (PostgreSQL).

A department's figures over a period of local days are sums over days (and, for the
business-time percentiles, histograms and a few buckets' seconds), so each finished day is rolled up
once (`dashboards.daily`) and read back in a few thousand narrow rows a month instead of
the period's tickets and clocks. What a roll-up has not covered yet (the last days, and
any day something changed after it was rolled) is computed from the tickets and clocks by
the same SQL when a dashboard asks. Triggers (migration 0001) note every change to a
ticket or clock that a rolled day counts, so a stale day is never read from here.
"""

from __future__ import annotations

from django.db import models

from tickets.models import Department


class DailyFigures(models.Model):
    """One department's counts on one of its local days, for everything (dimension 0)
    or one group of a breakdown (`Dimension`; `key` the group's id or priority, 0 for
    the tickets or clocks without one). Tickets count on the day they were created
    (in their group as it is now) and, for `resolved`, on the day of their latest
    resolution; SLA clocks on the day they finished (met, or stopped after breaching), in
    the group they recorded then (`SlaClock.finished_*`). The met clocks' business
    seconds are counted in a histogram over `dashboards.daily.BOUNDS` and kept, bucket by
    bucket, in `BucketSeconds`: a period's histogram (the days' added up) says which
    bucket holds a percentile's rank, and only that bucket's seconds are read back, so its
    exact nearest-rank percentiles cost a few counts, not a merge of every value."""

    class Dimension(models.IntegerChoices):
        ALL = 0, "All"
        REQUESTING_DEPARTMENT = 1, "Requesting department"
        REQUEST_TYPE = 2, "Request type"
        ASSIGNEE = 3, "Assignee"
        PRIORITY = 4, "Priority"
        # Survey invitations only, by whether the ticket met its SLA when it was
        # surveyed (SurveyInvitation.sla_met, a snapshot): SLA_MET_KEYS.
        SURVEY_SLA = 5, "Survey by SLA met"

    department = models.ForeignKey(Department, on_delete=models.CASCADE, db_constraint=False)
    day = models.DateField()
    # A month's row (`day` its first): the same figures over its local days, rolled up
    # with them, so a long period reads a row a month and its edge days.
    month = models.BooleanField(default=False)
    dimension = models.PositiveSmallIntegerField(choices=Dimension.choices)
    key = models.IntegerField()
    created = models.IntegerField(default=0)
    resolved_once = models.IntegerField(default=0)  # of those created, resolved at least once
    reopened = models.IntegerField(default=0)  # of those, reopened at least once
    resolved = models.IntegerField(default=0)  # latest resolution on the day (dimension 0)
    fr_finished = models.IntegerField(default=0)
    fr_met = models.IntegerField(default=0)  # met without a breach
    fr_breached = models.IntegerField(default=0)
    # How many met clocks' business seconds fall in each bucket of BOUNDS, as (bucket,
    # count) pairs of 2- and 4-byte big-endian integers (read back with one numpy call);
    # the seconds themselves are in BucketSeconds.
    fr_histogram = models.BinaryField(null=True)
    res_finished = models.IntegerField(default=0)
    res_met = models.IntegerField(default=0)
    res_breached = models.IntegerField(default=0)
    res_histogram = models.BinaryField(null=True)
    # The survey invitations created on the day, not withdrawn (surveys.stats'
    # SURVEY_AGGREGATES), in everything (dimension 0), by requesting department (1) and
    # by SLA met (5, rows of invitations only).
    invited = models.IntegerField(default=0)
    responses = models.IntegerField(default=0)
    score_sum = models.IntegerField(default=0)
    nps_responses = models.IntegerField(default=0)
    promoters = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)
    anonymous_answers = models.IntegerField(default=0)
    s1 = models.IntegerField(default=0)
    s2 = models.IntegerField(default=0)
    s3 = models.IntegerField(default=0)
    s4 = models.IntegerField(default=0)
    s5 = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "day", "dimension", "key", "month"],
                name="dailyfigures_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day} {self.dimension}:{self.key}"


# The key of a SURVEY_SLA row: the invitations' SurveyInvitation.sla_met.
SLA_MET_KEYS = {True: 1, False: 2, None: 0}


class BucketSeconds(models.Model):
    """The business seconds of one stored DailyFigures row's met clocks of one kind
    (`Kind`) that fall in one bucket of `dashboards.daily.BOUNDS`, sorted, as 4-byte
    big-endian integers (int4send) one after the other. Written and deleted with the row
    (`dashboards.daily._roll`, one statement), so a percentile's bucket is read back from
    its groups' rows alone: the index leads with the group, kind and bucket, and a period's
    rows of a target are a range of it per run of days or months (`SlaTotals`)."""

    class Kind(models.IntegerChoices):
        FIRST_RESPONSE = 0, "First response"
        RESOLUTION = 1, "Resolution"

    # The primary key is the index a read uses (no id: a key and an index fewer to write).
    pk = models.CompositePrimaryKey(
        "department", "dimension", "key", "kind", "bucket", "month", "day"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    dimension = models.PositiveSmallIntegerField(choices=DailyFigures.Dimension.choices)
    key = models.IntegerField()
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    bucket = models.SmallIntegerField()
    month = models.BooleanField(default=False)  # DailyFigures.month
    day = models.DateField()
    seconds = models.BinaryField()

    class Meta:
        # The roll-up replaces a department's days (and months) whole.
        indexes = [models.Index(fields=["department", "month", "day"], name="bucketseconds_days")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day} {self.dimension}:{self.key} bucket {self.bucket}"


class DailyRollup(models.Model):
    """How far a department's days are rolled up: every local day before `rolled_until`
    (in `time_zone`, the department's zone when they were rolled; another zone now means
    none is) has its DailyFigures, unless a StaleDay says it changed since."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, primary_key=True, db_constraint=False
    )
    rolled_until = models.DateField()
    time_zone = models.CharField(max_length=64)
    rolled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.department_id} rolled until {self.rolled_until}"


class StaleDay(models.Model):
    """A change to a ticket or clock counted on a rolled day: the department and the UTC
    date of the instant (each local day it overlaps is re-rolled). Written by triggers
    (insert only: no row anyone else updates, so filing never waits on it), for instants
    over 12 hours old only (younger ones are on days no roll-up has covered yet, see
    `dashboards.daily.ROLL_AFTER`); deleted by the roll-up that re-rolls the day."""

    id = models.BigAutoField(primary_key=True)
    department_id = models.IntegerField()
    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["department_id", "day"], name="staleday_dept_day")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day}"
