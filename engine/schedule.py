"""Turn the follow-up actions of fired rules into dated steps from the move-in date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta
from dateutil.rrule import MONTHLY, rrule

from engine.loader import CompiledRule
from models.plan import FollowUpStep
from models.rules import Repeat

_INTERVAL_MONTHS = {Repeat.monthly: 1, Repeat.quarterly: 3, Repeat.half_yearly: 6}


@lru_cache(maxsize=4096)
def step_dates(move_in: date, after_days: int, day_of_month: int | None, repeat: Repeat, horizon: date) -> tuple[date, ...]:
    """Dates of one follow-up action, first on or after `move_in + after_days`, up to `horizon`.

    Cached because a month's arrivals share a few dozen move-in dates.
    """
    start = move_in + timedelta(days=after_days)
    if repeat == Repeat.once:
        if day_of_month is not None:
            first = start.replace(day=day_of_month)
            start = first if first >= start else first + relativedelta(months=1)
        return (start,) if start <= horizon else ()

    interval = _INTERVAL_MONTHS[repeat]
    rule = rrule(MONTHLY, interval=interval, dtstart=datetime.combine(start, datetime.min.time()),
                 bymonthday=day_of_month or min(start.day, 28),
                 until=datetime.combine(horizon, datetime.min.time()))
    return tuple(d.date() for d in rule)


def build_schedule(matched: list[CompiledRule], move_in: date, horizon_months: int,
                   dropped_items: set[str]) -> list[FollowUpStep]:
    """Collect follow-up steps of the fired rules, dated, without duplicates, in date order.

    Steps tied to an item that the plan removed (ineligible or excluded) are left out.
    """
    horizon = move_in + relativedelta(months=horizon_months)
    steps: dict[tuple[date, str], FollowUpStep] = {}
    for rule in matched:
        for action in rule.rule.then:
            follow = action.follow_up
            if follow is None or (follow.item and follow.item in dropped_items):
                continue
            for due in step_dates(move_in, follow.after_days, follow.day_of_month, follow.repeat, horizon):
                steps.setdefault((due, follow.task), FollowUpStep(
                    due=due, phase=follow.phase, task=follow.task, rule_id=rule.id, item_id=follow.item))
    return sorted(steps.values(), key=lambda s: (s.due, s.task))
