"""Entity resolution: one `entities` row per organization behind breach reports and enforcement actions.

Precision first. Records join an entity only when their normalized match keys (etl.normalize.names.name_key,
which already drops parentheticals and keys the legal name before a d/b/a) are equal and their states
agree. Two looser rules, each within one state: an *alias*, the d/b/a (a/k/a, f/k/a) name of "X d/b/a Y"
joins X's entity with a record whose key is Y's key; and a *reduced key* (etl.normalize.names.reduced_key:
the key without a trailing ", <its own state>" or ", Southern California", an affiliated-covered-entity
designation, the Breach Portal's ", Privacy Manager Breach" or "the") joins records whose reduced keys
agree, so "Kaiser Foundation Health Plan, Inc., Southern California" (CA) joins "Kaiser Foundation Health
Plan, Inc." (CA) while "Molina Healthcare of California" stays apart from "Molina Healthcare".
Similar-looking names with different keys are otherwise never merged; the reviewed file
data/curated/entity_overrides.csv handles what these rules get wrong:

    rule,match,state,target,reason
    merge,name:CHSPSC LLC,TN,community-health-systems-professional-services-corporation-tn,why
    split,breach:2014-08-20-some-id,,new-entity-id,why
    related,name:Santa Rosa Memorial Hospital,CA,st-joseph-health-ca,why

`match` is `name:<a name, compared by its key>`, `breach:<breaches.id>` or `action:<enforcement_actions.id>`;
`state` (optional) narrows a `name:` match. merge moves the matched records' whole entities into the
existing entity `target`; split moves only the matched records into `target` (a new or existing id);
related records that the matched records' entity is a subsidiary or alias of entity `target`, which
etl/links.py uses to find candidate breach reports, without merging the two.

A malformed row (unknown rule, a match without its name:/breach:/action: prefix, a target that is not a
slug, no reason) stops the build. A row whose match finds no record of this build, or whose merge/related
target is no entity of it, is skipped and reported (etl/override_problems.py): the file names records of
the project's full snapshot, and a build of another snapshot may lack them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from etl.context import BuildContext, BuildError
from etl.csv_input import checked_rows
from etl.normalize.names import name_key, reduced_key, slugify, split_aliases
from etl.override_problems import problem, report

OVERRIDES_FILE = "entity_overrides.csv"
OVERRIDE_COLUMNS = ["rule", "match", "state", "target", "reason"]
RULES = ("merge", "split", "related")


class OverrideError(BuildError):
    """A row of the overrides file is malformed; the message names file, line and field."""


@dataclass(frozen=True)
class Record:
    source: str  # "breach" | "action"
    id: str
    name: str
    key: str
    state: str | None
    date: str | None = None


@dataclass(frozen=True)
class EntityOverride:
    line: int
    rule: str
    match: str
    state: str | None
    target: str
    reason: str


@dataclass
class Resolution:
    """Which entity every record belongs to, and how it got there."""

    entity_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, record id) -> entity id
    method_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, record id) -> method
    related: list[tuple[str, str, str]] = field(default_factory=list)  # (entity id, related entity id, reason)
    unresolved: list[Record] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # override rows whose target is absent (override_problems)


def alias_names(name: str) -> list[str]:
    """Other names of the same organization inside one published name: the d/b/a, a/k/a, f/k/a names
    (name_key already drops parentheticals and keys the legal name)."""
    return split_aliases(name)[1:]


def read_overrides(path: Path) -> list[EntityOverride]:
    """Parse entity_overrides.csv; raise OverrideError naming file, line and field on bad input."""
    rows: list[EntityOverride] = []
    for line, row in checked_rows(path, OVERRIDE_COLUMNS, OverrideError):
        rule = (row["rule"] or "").strip()
        match = (row["match"] or "").strip()
        target = (row["target"] or "").strip()
        if rule not in RULES:
            raise OverrideError(f"{path}:{line}: field 'rule': {rule!r} is not one of {', '.join(RULES)}")
        if not re.match(r"^(name|breach|action):.+", match):
            raise OverrideError(f"{path}:{line}: field 'match': {match!r} must be name:, breach: or action:")
        if not target or slugify(target) != target:
            raise OverrideError(f"{path}:{line}: field 'target': {target!r} is not an entity id slug")
        if not (row["reason"] or "").strip():
            raise OverrideError(f"{path}:{line}: field 'reason': every override needs a reason")
        rows.append(
            EntityOverride(line, rule, match, (row["state"] or "").strip() or None, target, row["reason"].strip())
        )
    return rows


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # smaller root wins so that the result does not depend on the order of unions
            lo, hi = sorted([ra, rb], key=repr)
            self.parent[hi] = lo


def _rule_groups(records: list[Record]) -> tuple[dict[Record, tuple], dict[Record, str]]:
    """Group records by (key, state) and the alias rule; return each record's group root and method."""
    states_of_key: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.state:
            states_of_key[r.key].add(r.state)

    def node(key: str, state: str | None) -> tuple[str, str | None]:
        """A record without a state joins the one entity its key has, if it has just one."""
        if state:
            return (key, state)
        known = states_of_key.get(key, set())
        return (key, next(iter(known))) if len(known) == 1 else (key, None)

    uf = _UnionFind()
    method: dict[Record, str] = {}
    for r in records:
        uf.find(node(r.key, r.state))
        method[r] = "key+state" if r.state else "key (state unknown)"
    for r in records:
        for alias in alias_names(r.name):
            alias_key = name_key(alias)
            if not alias_key or alias_key == r.key or alias_key not in states_of_key:
                continue
            target = node(alias_key, r.state)
            if target[1] is None or target[1] not in states_of_key[alias_key]:
                continue  # the alias must name a record of the same state
            uf.union(node(r.key, r.state), target)
            method[r] = f"alias {alias!r}"
    _join_reduced_keys(records, uf, node, method)
    return {r: uf.find(node(r.key, r.state)) for r in records}, method


def _join_reduced_keys(records: list[Record], uf: _UnionFind, node, method: dict[Record, str]) -> None:
    """Join records of one state whose reduced keys agree (a record's own key counts as its reduced key
    when the reduction leaves it unchanged). A record whose join rests on its reduction says so in its method."""
    keys_at: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    reduced: dict[Record, str] = {}
    for r in records:
        if not r.state:
            continue  # as strict as the key rule: a reduced key joins only within a state
        reduced[r] = reduced_key(r.name, r.state)
        keys_at[(reduced[r], r.state)].add(r.key)
    for r, key in reduced.items():
        uf.union(node(r.key, r.state), (key, r.state))
        if key != r.key and len(keys_at[(key, r.state)]) > 1 and not method[r].startswith("alias"):
            method[r] = f"reduced key {key!r}"


def _group_id(members: list[Record]) -> str:
    keys = Counter(r.key for r in members)
    key = sorted(keys, key=lambda k: (-keys[k], len(k), k))[0]
    states = Counter(r.state for r in members if r.state)
    state = sorted(states, key=lambda s: (-states[s], s))[0] if states else None
    return slugify(key) + (f"-{state.lower()}" if state else "")


def _matching(o: EntityOverride, records: list[Record]) -> list[Record]:
    kind, _, value = o.match.partition(":")
    if kind == "name":
        key = name_key(value)
        return [r for r in records if r.key == key and (o.state is None or r.state == o.state)]
    return [r for r in records if r.source == kind and r.id == value]


def resolve(records: Iterable[Record], overrides: list[EntityOverride], source: str = OVERRIDES_FILE) -> Resolution:
    """Assign every record with a key to an entity id (rules first, then the reviewed overrides).
    An override whose match finds no record, or whose merge/related target is no entity, changes nothing
    and is listed in `skipped` (file, line, field, reason)."""
    res = Resolution()
    keyed: list[Record] = []
    for r in records:
        (keyed if r.key else res.unresolved).append(r)
    roots, method = _rule_groups(keyed)
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for r in keyed:
        groups[roots[r]].append(r)
    # ids: slug of the group's main key and state; a clash (two keys with one slug) gets -2, -3 in sorted order
    taken: Counter = Counter()
    group_ids: dict[tuple, str] = {}
    for root in sorted(groups, key=repr):
        base = _group_id(groups[root])
        taken[base] += 1
        group_ids[root] = base if taken[base] == 1 else f"{base}-{taken[base]}"
    for r in keyed:
        res.entity_of[(r.source, r.id)] = group_ids[roots[r]]
        res.method_of[(r.source, r.id)] = method[r]
    rule_ids = set(group_ids.values())
    for o in overrides:
        hits = _matching(o, keyed)
        if not hits:
            res.skipped.append(
                problem(
                    source,
                    o.line,
                    "match",
                    f"{o.match!r}" + (f" in state {o.state}" if o.state else "") + " matches no record",
                )
            )
            continue
        if o.rule in ("merge", "related") and o.target not in rule_ids:
            res.skipped.append(problem(source, o.line, "target", f"{o.target!r} is not an entity id"))
            continue
        if o.rule == "related":
            for eid in sorted({res.entity_of[(r.source, r.id)] for r in hits}):
                res.related.append((eid, o.target, o.reason))
            continue
        if o.rule == "merge":
            moving = {res.entity_of[(r.source, r.id)] for r in hits}
            hits = [r for r in keyed if res.entity_of[(r.source, r.id)] in moving]
        for r in hits:
            res.entity_of[(r.source, r.id)] = o.target
            res.method_of[(r.source, r.id)] = f"override ({o.rule}, {source} line {o.line})"
    return res


def read_records(db: sqlite_utils.Database) -> list[Record]:
    """Breach reports and enforcement actions as name records, in a stable order."""
    records = [
        Record(
            "breach", r["id"], r["entity_name"] or "", r["entity_key"] or "", r["state"] or None, r["submission_date"]
        )
        for r in db.query("select id, entity_name, entity_key, state, submission_date from breaches order by id")
    ]
    records += [
        Record("action", r["id"], r["entity"] or "", r["entity_key"] or "", r["state"] or None, r["announced"])
        for r in db.query("select id, entity, entity_key, state, announced from enforcement_actions order by id")
    ]
    return records


def _display_name(members: list[Record]) -> str:
    names = Counter(r.name.strip() for r in members)
    return sorted(names, key=lambda n: (-names[n], n.count("("), len(n), n))[0]


def write_entities(db: sqlite_utils.Database, records: list[Record], res: Resolution) -> int:
    """(Re)write entities and entity_names and fill breaches/enforcement_actions.entity_id."""
    by_entity: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        eid = res.entity_of.get((r.source, r.id))
        if eid:
            by_entity[eid].append(r)
    facts = {("breach", r["id"]): r for r in db.query("select id, individuals_affected from breaches")}
    amounts = {("action", r["id"]): r for r in db.query("select id, amount_usd from enforcement_actions")}
    related: dict[str, list[str]] = defaultdict(list)
    for eid, other, _ in res.related:
        related[eid].append(other)
        related[other].append(eid)
    rows = []
    for eid in sorted(by_entity):
        members = by_entity[eid]
        breaches = [r for r in members if r.source == "breach"]
        actions = [r for r in members if r.source == "action"]
        states = Counter(r.state for r in members if r.state)
        bdates = sorted(r.date for r in breaches if r.date)
        adates = sorted(r.date for r in actions if r.date)
        rows.append(
            {
                "id": eid,
                "name": _display_name(members),
                "state": sorted(states, key=lambda s: (-states[s], s))[0] if states else None,
                "states": json.dumps(sorted(states)),
                "kinds": json.dumps(sorted({r.source for r in members})),
                "breach_count": len(breaches),
                "action_count": len(actions),
                "name_count": len({r.name.strip() for r in members}),
                "individuals_affected": sum(facts[("breach", r.id)]["individuals_affected"] or 0 for r in breaches),
                "amount_usd": sum(amounts[("action", r.id)]["amount_usd"] or 0 for r in actions),
                "first_breach_reported": bdates[0] if bdates else None,
                "last_breach_reported": bdates[-1] if bdates else None,
                "first_action": adates[0] if adates else None,
                "last_action": adates[-1] if adates else None,
                "related_entities": json.dumps(sorted(set(related.get(eid, [])))),
                "resolved_by": _resolved_by([res.method_of[(r.source, r.id)] for r in members]),
            }
        )
    names = [
        {
            "source": r.source,
            "record_id": r.id,
            "entity_id": res.entity_of[(r.source, r.id)],
            "name": r.name,
            "name_key": r.key,
            "state": r.state,
            "method": res.method_of[(r.source, r.id)],
        }
        for r in records
        if (r.source, r.id) in res.entity_of
    ]
    with db.atomic():  # one transaction: a commit per insert chunk costs seconds on a slow disk
        _create_and_insert(db, rows, names)
    _fill_entity_ids(db, res)
    return len(rows)


def _resolved_by(methods: list[str]) -> str:
    """The loosest rule that holds the entity together: override, alias, reduced key or key."""
    for rule in ("override", "alias", "reduced key"):
        if any(m.startswith(rule) for m in methods):
            return rule
    return "key"


def _create_and_insert(db: sqlite_utils.Database, rows: list[dict], names: list[dict]) -> None:
    for table in ("entity_names", "entities"):
        db[table].drop(ignore=True)
    db.table("entities").create(
        {
            "id": str,
            "name": str,
            "state": str,
            "states": str,
            "kinds": str,
            "breach_count": int,
            "action_count": int,
            "name_count": int,
            "individuals_affected": int,
            "amount_usd": int,
            "first_breach_reported": str,
            "last_breach_reported": str,
            "first_action": str,
            "last_action": str,
            "related_entities": str,
            "resolved_by": str,
        },
        pk="id",
    )
    db.table("entities").insert_all(rows)
    db.table("entity_names").create(
        {"source": str, "record_id": str, "entity_id": str, "name": str, "name_key": str, "state": str, "method": str},
        pk=("source", "record_id"),
        foreign_keys=[("entity_id", "entities", "id")],
    )
    db.table("entity_names").insert_all(names)
    db.table("entity_names").create_index(["entity_id"])
    db.table("entity_names").create_index(["name_key"])
    db.table("entities").enable_fts(["name"], create_triggers=False, replace=True)


def _fill_entity_ids(db: sqlite_utils.Database, res: Resolution) -> None:
    for table, source in (("breaches", "breach"), ("enforcement_actions", "action")):
        if "entity_id" not in db[table].columns_dict:
            db.table(table).add_column("entity_id", str)
        with db.atomic():
            db.execute(f"update [{table}] set entity_id = null")
            db.conn.executemany(
                f"update [{table}] set entity_id = ? where id = ?",
                [(eid, rid) for (src, rid), eid in sorted(res.entity_of.items()) if src == source],
            )
        if not any(ix.columns == ["entity_id"] for ix in db.table(table).indexes):
            db.table(table).create_index(["entity_id"])


def stage(ctx: BuildContext) -> None:
    """Build stage: resolve entities from breaches and enforcement_actions (after their loaders)."""
    path = ctx.curated_dir / OVERRIDES_FILE
    try:
        overrides = read_overrides(path) if path.exists() else []
        records = read_records(ctx.db)
        res = resolve(records, overrides, source=str(path))
    except OverrideError as e:
        raise BuildError(str(e)) from e
    report(res.skipped, ctx.echo, ctx.warnings)
    n = write_entities(ctx.db, records, res)
    resolved = len(records) - len(res.unresolved)
    ctx.counts["entities"] = n
    ctx.counts["entity_records_unresolved"] = len(res.unresolved)
    ctx.echo(
        f"entities: {len(records)} records in = {resolved} resolved into {n} entities "
        f"+ {len(res.unresolved)} without a name key; {len(overrides) - len(res.skipped)} overrides applied"
        + (f", {len(res.skipped)} skipped (override_problems)" if res.skipped else "")
    )
