"""Capacity-aware allocation of a batch: give scarce seats where they add the most score.

For each community and each kind listed in `rules/batch.yaml` (`seats_per_household`), the
allocator chooses which household gets which item so that the sum of weighted scores of
all assignments is maximal, where

    weighted score = recommendation score × priority weight of the household,

subject to: an item never gets more households than its seats, a household gets at most
`seats_per_household[kind]` items of the kind, and only items its plan recommends.

This is a maximum-weight b-matching. It is solved exactly as a min-cost flow (source →
household → item → sink) by successive shortest paths with integer costs, so there is no
floating-point tolerance: a weighted score counts in units of 1/10,000. Ties go to the
household earlier in the batch. The cost of assigning household h (0-based position in
its community) to item i is `-(units × B + (n - h))`, where B exceeds the largest possible
sum of the second term, so the tie-break never outweighs one unit of score.

Before solving, each item keeps only its best S candidates, S being the seats of the
whole kind. That is exact: if an optimal allocation gave item i to a household ranked
below S, one of the S better-ranked households has neither i nor a full set of items
(they cannot all use a seat, because at most S - 1 other seats exist), and moving the
seat to it would raise the total. Items without a capacity count as having a seat for every
household, so a kind with such an item is solved without pruning.

A recommendation without a seat goes to the item's waitlist only when the item is full. A
household that missed an item with free seats did so because it already holds its maximum
of the kind; that request is counted in `Allocation.over_limit` and not wait-listed.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from engine.errors import Problem, RuleSetError, translate_field_error
from engine.loader import RuleBase, rule_file_name
from engine.yaml_loader import load_yaml_file
from models.batch import SCORE_UNITS, BatchSettings
from models.catalogue import ItemKind
from models.plan import Plan

logger = logging.getLogger(__name__)

BATCH_FILE = "batch.yaml"


# Settings


def load_batch_settings(rulebase: RuleBase) -> BatchSettings:
    """Read `batch.yaml` beside the rules; the defaults of `BatchSettings` when it is absent.

    Raises:
        RuleSetError: the file is invalid, or names a tag or segment no rule defines.
    """
    path = Path(rulebase.directory) / BATCH_FILE
    if not path.is_file():
        logger.info("no %s in %s; using the default batch settings", BATCH_FILE, rulebase.directory)
        return BatchSettings()

    loaded = load_yaml_file(path, rule_file_name(path, rulebase.directory))
    problems = list(loaded.problems)
    settings = None
    if loaded.data is not None and not any(p.severity == "error" for p in problems):
        try:
            settings = BatchSettings.model_validate(loaded.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                chinese, english = translate_field_error(error)
                problems.append(loaded.problem("schema", tuple(error["loc"]), detail_zh=chinese, detail_en=english))
    if settings is not None:
        problems.extend(_check_references(loaded, settings, rulebase))
    if settings is None or any(p.severity == "error" for p in problems):
        raise RuleSetError(problems)
    return settings


def _check_references(loaded, settings: BatchSettings, rulebase: RuleBase) -> list[Problem]:
    problems = []
    segments = tuple(rulebase.segment_names)
    for index, entry in enumerate(settings.priority):
        if entry.tag and entry.tag not in rulebase.tags:
            problems.append(loaded.problem("unknown_tag", ("priority", index, "tag"), name=entry.tag,
                                           allowed="、".join(rulebase.tags)))
        if entry.segment and entry.segment not in segments:
            problems.append(loaded.problem("unknown_segment", ("priority", index, "segment"), name=entry.segment,
                                           allowed="、".join(segments)))
    return problems


# Input of the allocator


@dataclass(frozen=True, slots=True)
class Choice:
    """One item of an allocated kind that a household's plan recommends."""

    item_id: str
    score: float
    rank: int


@dataclass(frozen=True, slots=True)
class Applicant:
    """A planned household as the allocator sees it; `position` is its 0-based order in the batch."""

    position: int
    household_id: str
    community_id: str
    weight: float
    choices: Mapping[ItemKind, tuple[Choice, ...]]

    def units(self, choice: Choice) -> int:
        """Weighted score of `choice` in units of 1/10,000."""
        return round(choice.score * self.weight * SCORE_UNITS)


def applicant_from_plan(plan: Plan, position: int, settings: BatchSettings) -> Applicant:
    weight, _ = settings.weight_for(plan.tags, plan.segment.id)
    choices = {
        kind: tuple(Choice(r.item_id, r.score, r.rank) for r in plan.recommendations.get(kind, []))
        for kind in settings.seats_per_household
    }
    return Applicant(position, plan.household_id, plan.community_id, weight, choices)


class Capacities:
    """Seats per item: a community's own figure, else one for every community, else the catalogue's.

    None means the item has no seat limit.
    """

    def __init__(self, catalogue: Mapping[str, int | None],
                 overrides: Mapping[tuple[str | None, str], int] | None = None):
        self.catalogue = dict(catalogue)
        self.overrides = dict(overrides or {})

    def seats(self, community_id: str, item_id: str) -> int | None:
        for key in ((community_id, item_id), (None, item_id)):
            if key in self.overrides:
                return self.overrides[key]
        return self.catalogue.get(item_id)

    @classmethod
    def from_rulebase(cls, rulebase: RuleBase, overrides: Mapping[tuple[str | None, str], int] | None = None) -> Capacities:
        return cls({item_id: item.capacity for item_id, item in rulebase.items.items()}, overrides)


# Output of the allocator


@dataclass(frozen=True, slots=True)
class Seat:
    community_id: str
    kind: ItemKind
    item_id: str
    position: int
    household_id: str
    score: float
    weight: float
    rank: int


@dataclass(frozen=True, slots=True)
class WaitlistEntry:
    """A household that wanted a full item and did not get it; `place` 1 is offered the next free seat.

    `seats` is the number of the item's seats in the community, all taken. `holds_same_kind`
    counts the items of the kind the household got. At the per-household maximum, the
    household must give one of them up to take a freed seat.
    """

    community_id: str
    kind: ItemKind
    item_id: str
    place: int
    position: int
    household_id: str
    score: float
    weight: float
    rank: int
    holds_same_kind: int
    seats: int


@dataclass(frozen=True, slots=True)
class ItemUse:
    """Demand against seats for one item in one community."""

    community_id: str
    kind: ItemKind
    item_id: str
    seats: int | None
    demand: int
    assigned: int


@dataclass
class Allocation:
    """Seats, waitlists and per-item use of a batch.

    `over_limit` counts recommendations that got no seat only because the household already
    has the most items of the kind allowed, while the item still has free seats. They are
    not wait-listed, because no seat needs to free up, and the plans sheet still lists them.
    """

    seats: list[Seat] = field(default_factory=list)
    waitlist: list[WaitlistEntry] = field(default_factory=list)
    usage: list[ItemUse] = field(default_factory=list)
    total_units: dict[tuple[str, ItemKind], int] = field(default_factory=dict)
    over_limit: int = 0
    seconds: float = 0.0

    def assigned_by_position(self) -> dict[int, dict[ItemKind, list[str]]]:
        result: dict[int, dict[ItemKind, list[str]]] = defaultdict(lambda: defaultdict(list))
        for seat in self.seats:
            result[seat.position][seat.kind].append(seat.item_id)
        return result

    def waitlist_by_position(self) -> dict[int, list[WaitlistEntry]]:
        result: dict[int, list[WaitlistEntry]] = defaultdict(list)
        for entry in self.waitlist:
            result[entry.position].append(entry)
        return result


# Allocation of a whole batch


def allocate(applicants: Iterable[Applicant], capacities: Capacities, settings: BatchSettings) -> Allocation:
    """Allocate the seats of every allocated kind, community by community."""
    started = time.perf_counter()
    by_community: dict[str, list[Applicant]] = defaultdict(list)
    for applicant in applicants:
        by_community[applicant.community_id].append(applicant)

    allocation = Allocation()
    for community_id in sorted(by_community):
        group = sorted(by_community[community_id], key=lambda a: a.position)
        for kind, per_household in settings.seats_per_household.items():
            _allocate_kind(allocation, community_id, kind, group, capacities, per_household)

    allocation.seconds = time.perf_counter() - started
    logger.info("allocated %d seats and wait-listed %d requests in %d communities in %.2f s",
                len(allocation.seats), len(allocation.waitlist), len(by_community), allocation.seconds)
    return allocation


def _allocate_kind(allocation: Allocation, community_id: str, kind: ItemKind, group: list[Applicant],
                   capacities: Capacities, per_household: int) -> None:
    items = sorted({c.item_id for a in group for c in a.choices.get(kind, ())})
    index = {item_id: i for i, item_id in enumerate(items)}
    seats = [capacities.seats(community_id, item_id) for item_id in items]
    limits = [len(group) if s is None else s for s in seats]
    utilities = [[(index[c.item_id], a.units(c)) for c in a.choices.get(kind, ())] for a in group]

    assigned = solve_allocation(utilities, limits, per_household)

    demand = [0] * len(items)
    assigned_count = [0] * len(items)
    for h, row in enumerate(utilities):
        for i, _ in row:
            demand[i] += 1
        for i in assigned[h]:
            assigned_count[i] += 1

    total = 0
    held_count = [len(a) for a in assigned]
    requests: dict[int, list[tuple[int, int, int, Choice]]] = defaultdict(list)
    for h, applicant in enumerate(group):
        mine = set(assigned[h])
        for choice in applicant.choices.get(kind, ()):
            i = index[choice.item_id]
            if i in mine:
                total += applicant.units(choice)
                allocation.seats.append(Seat(community_id, kind, choice.item_id, applicant.position,
                                             applicant.household_id, choice.score, applicant.weight, choice.rank))
            elif assigned_count[i] >= limits[i]:
                requests[i].append((held_count[h], -applicant.units(choice), h, choice))
            else:
                # The item has a free seat, so only the per-household maximum kept it from this
                # household: every assignment has a negative cost, and the optimum would add it.
                allocation.over_limit += 1

    for i, item_id in enumerate(items):
        for place, (holds, _, h, choice) in enumerate(sorted(requests[i], key=lambda r: r[:3]), start=1):
            applicant = group[h]
            allocation.waitlist.append(WaitlistEntry(community_id, kind, item_id, place, applicant.position,
                                                     applicant.household_id, choice.score, applicant.weight,
                                                     choice.rank, holds, limits[i]))
    for i, item_id in enumerate(items):
        allocation.usage.append(ItemUse(community_id, kind, item_id, seats[i], demand[i], assigned_count[i]))
    allocation.total_units[(community_id, kind)] = total


# The exact solver


def solve_allocation(utilities: list[list[tuple[int, int]]], capacities: list[int],
                     per_household: int) -> list[list[int]]:
    """Choose items for households so that the sum of utilities is maximal.

    Args:
        utilities: for each household, in batch order, (item index, utility) pairs with a
            positive integer utility; an item appears at most once per household.
        capacities: seats of each item (an integer; pass the household count for "no limit").
        per_household: the most items one household may get.

    Returns:
        The item indices given to each household, in the order of `utilities[h]`. Among
        allocations of equal total utility, the one that favours earlier households wins
        (see the module docstring for the exact rule).
    """
    n = len(utilities)
    total_seats = sum(capacities)
    keep = _prune(utilities, capacities, min(n, total_seats))
    kept = sorted(keep)
    if not kept:
        return [[] for _ in range(n)]

    flow_bound = min(total_seats, len(kept) * per_household)
    scale = n * flow_bound + 1
    network = _FlowNetwork(len(kept) + len(capacities) + 2)
    source, sink = 0, len(kept) + len(capacities) + 1
    item_node = [len(kept) + 1 + i for i in range(len(capacities))]
    edges: list[tuple[int, int, int]] = []
    for node, h in enumerate(kept, start=1):
        network.add(source, node, per_household, 0)
        for i, utility in utilities[h]:
            if i in keep[h]:
                arc = network.add(node, item_node[i], 1, -(utility * scale + (n - h)))
                edges.append((h, i, arc))
    for i, seats in enumerate(capacities):
        if seats > 0:
            network.add(item_node[i], sink, seats, 0)

    network.min_cost_flow(source, sink)

    assigned: list[list[int]] = [[] for _ in range(n)]
    for h, i, arc in edges:
        if network.flow(arc) > 0:
            assigned[h].append(i)
    return assigned


def _prune(utilities: list[list[tuple[int, int]]], capacities: list[int], keep_per_item: int) -> dict[int, set[int]]:
    """Keep, for each item, its `keep_per_item` best households; return household → kept items."""
    candidates: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for h, row in enumerate(utilities):
        for i, utility in row:
            if capacities[i] > 0:
                candidates[i].append((-utility, h))

    keep: dict[int, set[int]] = defaultdict(set)
    for i, entries in candidates.items():
        best = entries if len(entries) <= keep_per_item else heapq.nsmallest(keep_per_item, entries)
        for _, h in best:
            keep[h].add(i)
    return keep


class _FlowNetwork:
    """A residual network for min-cost flow with integer costs (successive shortest paths)."""

    def __init__(self, nodes: int):
        self.nodes = nodes
        self.heads: list[int] = []
        self.capacity: list[int] = []
        self.cost: list[int] = []
        self.out: list[list[int]] = [[] for _ in range(nodes)]

    def add(self, tail: int, head: int, capacity: int, cost: int) -> int:
        """Add an arc and its reverse; return the arc's index (the reverse is index + 1)."""
        arc = len(self.heads)
        for a, b, cap, c in ((tail, head, capacity, cost), (head, tail, 0, -cost)):
            self.heads.append(b)
            self.capacity.append(cap)
            self.cost.append(c)
            self.out[a].append(len(self.heads) - 1)
        return arc

    def flow(self, arc: int) -> int:
        return self.capacity[arc + 1]

    def min_cost_flow(self, source: int, sink: int) -> int:
        """Push flow along cheapest paths while a path of negative cost exists; return the cost."""
        potential = self._initial_potential(source)
        total = 0
        while True:
            distance, parent = self._dijkstra(source, potential)
            if distance[sink] is None:
                return total
            path_cost = distance[sink] + potential[sink] - potential[source]
            if path_cost >= 0:
                return total
            bound = distance[sink]
            for v in range(self.nodes):
                potential[v] += min(distance[v], bound) if distance[v] is not None else bound
            total += path_cost * self._augment(source, sink, parent)

    def _initial_potential(self, source: int) -> list[int]:
        """Shortest distances from `source` by Bellman-Ford rounds; the network is a DAG of depth 3."""
        infinity = None
        potential: list[int | None] = [infinity] * self.nodes
        potential[source] = 0
        for _ in range(3):
            for u in range(self.nodes):
                if potential[u] is None:
                    continue
                for arc in self.out[u]:
                    if self.capacity[arc] > 0:
                        v = self.heads[arc]
                        candidate = potential[u] + self.cost[arc]
                        if potential[v] is None or candidate < potential[v]:
                            potential[v] = candidate
        return [p if p is not None else 0 for p in potential]

    def _dijkstra(self, source: int, potential: list[int]) -> tuple[list[int | None], list[int]]:
        distance: list[int | None] = [None] * self.nodes
        parent = [-1] * self.nodes
        distance[source] = 0
        heap = [(0, source)]
        done = [False] * self.nodes
        while heap:
            d, u = heapq.heappop(heap)
            if done[u]:
                continue
            done[u] = True
            for arc in self.out[u]:
                if self.capacity[arc] == 0:
                    continue
                v = self.heads[arc]
                candidate = d + self.cost[arc] + potential[u] - potential[v]
                if distance[v] is None or candidate < distance[v]:
                    distance[v] = candidate
                    parent[v] = arc
                    heapq.heappush(heap, (candidate, v))
        return distance, parent

    def _augment(self, source: int, sink: int, parent: list[int]) -> int:
        path = []
        v = sink
        while v != source:
            arc = parent[v]
            path.append(arc)
            v = self.heads[arc ^ 1]
        amount = min(self.capacity[arc] for arc in path)
        for arc in path:
            self.capacity[arc] -= amount
            self.capacity[arc ^ 1] += amount
        return amount
