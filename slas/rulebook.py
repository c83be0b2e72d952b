"""Which escalation rules apply to an event: the active rules, read once per sweep and
matched in memory (a department has a handful), so the sweep costs one query for rules
however many events it records."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from slas.models import EscalationRule

Trigger = EscalationRule.Trigger


@dataclass(frozen=True)
class RuleSpec:
    id: int
    department_id: int
    level: int
    trigger: str
    clock_kind: str
    warning_percent: int | None
    idle_seconds: int
    request_type_ids: frozenset[int]
    priorities: frozenset[int]
    requesting_department_ids: frozenset[int]

    def applies(
        self,
        *,
        clock_kind: str,
        threshold: int,
        request_type_id: int,
        priority: int,
        requesting_department_id: int | None,
    ) -> bool:
        if self.trigger == Trigger.NO_UPDATE:
            if threshold != self.idle_seconds:
                return False
        else:
            if self.clock_kind and self.clock_kind != clock_kind:
                return False
            if self.warning_percent is not None and self.warning_percent != threshold:
                return False
        if self.request_type_ids and request_type_id not in self.request_type_ids:
            return False
        if self.priorities and priority not in self.priorities:
            return False
        return not (
            self.requesting_department_ids
            and requesting_department_id not in self.requesting_department_ids
        )


class RuleBook:
    def __init__(self, rules: list[RuleSpec]) -> None:
        self._by_department: dict[tuple[int, str], list[RuleSpec]] = defaultdict(list)
        self._narrowing: set[int] = set()
        # match() answers, by its arguments: a sweep asks the same few questions a thousand
        # times (the book never changes once built).
        self._matches: dict[tuple[object, ...], list[int]] = {}
        for rule in sorted(rules, key=lambda r: (r.level, r.id)):
            self._by_department[(rule.department_id, rule.trigger)].append(rule)
            if rule.request_type_ids or rule.priorities or rule.requesting_department_ids:
                self._narrowing.add(rule.department_id)

    @classmethod
    def load(cls) -> RuleBook:
        """The active rules: one plain query (the narrowing lists joined in, a row per
        combination: rules have a handful each, most none), no model instances. One
        round trip, not three: the sweep loads the book every time something is due."""
        fields: dict[int, tuple[Any, ...]] = {}
        types: dict[int, set[int]] = defaultdict(set)
        departments: dict[int, set[int]] = defaultdict(set)
        rows = EscalationRule.objects.filter(is_active=True).values_list(
            "pk", "department_id", "level", "trigger", "clock_kind", "warning_percent",
            "idle_hours", "priorities", "request_types", "requesting_departments",
        )  # fmt: skip
        for *row, type_id, requesting_id in rows:
            fields.setdefault(row[0], tuple(row))
            if type_id is not None:
                types[row[0]].add(type_id)
            if requesting_id is not None:
                departments[row[0]].add(requesting_id)
        return cls(
            [
                RuleSpec(
                    id=pk,
                    department_id=department_id,
                    level=level,
                    trigger=trigger,
                    clock_kind=clock_kind,
                    warning_percent=warning_percent,
                    idle_seconds=int((idle_hours or 0) * 3600),
                    request_type_ids=frozenset(types.get(pk, ())),
                    priorities=frozenset(priorities or ()),
                    requesting_department_ids=frozenset(departments.get(pk, ())),
                )
                for (
                    pk,
                    department_id,
                    level,
                    trigger,
                    clock_kind,
                    warning_percent,
                    idle_hours,
                    priorities,
                ) in fields.values()
            ]
        )

    def match(
        self,
        *,
        department_id: int,
        trigger: str,
        clock_kind: str = "",
        threshold: int,
        request_type_id: int,
        priority: int,
        requesting_department_id: int | None,
    ) -> list[int]:
        """Ids of the rules that fire, in level order. The list is shared between calls
        with the same arguments: don't change it."""
        key = (
            department_id, trigger, clock_kind, threshold, request_type_id, priority,
            requesting_department_id,
        )  # fmt: skip
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = [
                rule.id
                for rule in self._by_department.get((department_id, trigger), ())
                if rule.applies(
                    clock_kind=clock_kind,
                    threshold=threshold,
                    request_type_id=request_type_id,
                    priority=priority,
                    requesting_department_id=requesting_department_id,
                )
            ]
        return found

    def narrows(self, department_id: int) -> bool:
        """Whether any of the department's rules is narrowed by request type, priority or
        requesting department (so matching needs those facts of the ticket)."""
        return department_id in self._narrowing

    def idle_seconds(self, department_id: int) -> list[int]:
        """The distinct “no update” durations the department watches, shortest first."""
        rules = self._by_department.get((department_id, Trigger.NO_UPDATE), ())
        return sorted({rule.idle_seconds for rule in rules})
