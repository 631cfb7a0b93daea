"""Plan: read the current state of every resource (in parallel) and diff it against the spec.

The plan is data: a list of :class:`Change` with a closed set of actions, each with human
reasons and the az commands that would carry it out. ``--dry-run`` stops after it; the same plan
renders as a table or as JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pros_cli.azure.errors import describe
from pros_cli.echo import AzCommand
from pros_cli.engine.dag import NodeFailed, NodeResult, run_dag
from pros_cli.resources.base import FieldDiff, Resource

ACTIONS = ("create", "update", "replace", "resume", "no-op", "delete")
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "resume": ">", "no-op": "=", "delete": "-"}


@dataclass
class Change:
    resource: Resource
    action: str
    reasons: list[str]
    current: dict[str, Any] | None = None
    diffs: list[FieldDiff] = field(default_factory=list)
    origin: str = "created"  # or "pre-existing" (adopted): teardown never deletes those
    resume_action: str | None = None
    continuation_token: str | None = None
    # For a resource leaving the deployment without a delete (already gone, or adopted): the
    # history event the state file records when the run drops it ("gone", "released").
    forget: str | None = None
    warning: str | None = None  # something the operator should know about this change
    # Outside the command's scope: only read (for its body), never changed or recorded.
    read_only: bool = False

    @property
    def key(self) -> str:
        return self.resource.key

    def az_commands(self) -> list[AzCommand]:
        r = self.resource
        if self.action == "create":
            return r.az_create()
        if self.action == "update":
            if self.current is not None and self.diffs:
                return r.az_update(self.current, self.diffs)
            return r.az_create()  # re-apply a failed resource: the same PUT as create
        if self.action == "delete":
            return r.az_delete()
        if self.action == "replace":
            return [*r.az_delete(), *r.az_create()]
        return []

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {
            "action": self.action,
            "type": r.arm_type,
            "name": r.name,
            "id": r.arm_id(),
            "region": r.region,
            "reasons": list(self.reasons),
            "az": [c.render() for c in self.az_commands()],
        }


@dataclass
class Plan:
    changes: list[Change]
    errors: list[str] = field(default_factory=list)
    offline: bool = False
    # Settings this run changes against the recorded ones (pros_cli.settings.SettingChange).
    settings: list[Any] = field(default_factory=list)
    # Warnings about the deployment's settings, shown before those of single changes.
    notes: list[str] = field(default_factory=list)

    def by_key(self) -> dict[str, Change]:
        return {c.key: c for c in self.changes}

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def deletes(self) -> list[Change]:
        return [c for c in self.changes if c.action == "delete"]

    @property
    def warnings(self) -> list[str]:
        return [*self.notes, *(c.warning for c in self.changes if c.warning)]

    @property
    def in_scope(self) -> list[Change]:
        """The changes this command owns (without the resources it only read)."""
        return [c for c in self.changes if not c.read_only]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ACTIONS, 0)
        for c in self.in_scope:
            out[c.action] += 1
        return out

    def summary_line(self) -> str:
        c = self.counts()
        parts = [f"{c['create']} to create", f"{c['update']} to update"]
        if c["resume"]:
            parts.append(f"{c['resume']} to resume")
        if c["replace"]:
            parts.append(f"{c['replace']} to replace")
        if c["delete"]:
            parts.append(f"{c['delete']} to delete")
        parts.append(f"{c['no-op']} unchanged")
        return "Plan: " + ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "settings": [s.to_json() for s in self.settings],
            "changes": [c.to_json() for c in self.in_scope],
            "summary": self.counts(),
        }
        if self.offline:
            data["offline"] = True
        if self.errors:
            data["errors"] = list(self.errors)
        if self.warnings:
            data["warnings"] = self.warnings
        return data


@dataclass
class PlanOptions:
    adopt: bool = False
    offline: bool = False
    parallelism: int = 8
    # The keys this command may change; every other resource is only read (None: all of them).
    scope: frozenset[str] | None = None


def offline_plan(resources: Sequence[Resource]) -> Plan:
    """Plan against an empty subscription: no network, no credentials."""
    changes = [
        Change(r, "create", ["offline: planned against an empty subscription (nothing was read)"])
        for r in resources
    ]
    return Plan(changes, offline=True)


def decide_removal(
    r: Resource,
    current: dict[str, Any] | None,
    recorded: Mapping[str, Any] | None,
    why: str,
    *,
    with_parent: bool = False,
) -> tuple[Change, str | None]:
    """A resource pros recorded that the desired deployment no longer has: delete it, but only
    when it is still there, pros created it, and it still carries this deployment's tags.
    ``with_parent``: it is part of a parent that is deleted too, so it goes with it."""
    origin = (recorded or {}).get("origin") or "created"
    if current is None:
        return Change(r, "no-op", [f"{why}; already gone from Azure"], forget="gone"), None
    if with_parent:
        return Change(
            r, "no-op", [f"{why}; deleted with its parent"], current=current, origin=origin, forget="deleted"
        ), None
    if origin == "pre-existing":
        return Change(
            r,
            "no-op",
            [f"{why}; pre-existing (adopted), so pros leaves it in place and stops managing it"],
            current=current,
            origin=origin,
            forget="released",
        ), None
    if not r.is_ours(current):
        note = (
            f"{r.describe()} is not deleted: it does not carry the managed-by=pros / "
            f"pros-deployment={r.spec.base_name} tags, so it is not pros's (the state file recorded the "
            "name because a run once started creating it); it is left in place and no longer recorded"
        )
        return Change(
            r,
            "no-op",
            [f"{why}; not deleted: it lacks this deployment's tags"],
            current=current,
            forget="not-ours",
            warning=note,
        ), None
    return Change(r, "delete", [why], current=current, origin=origin), None


def decide(
    r: Resource,
    current: dict[str, Any] | None,
    recorded: Mapping[str, Any] | None,
    options: PlanOptions,
) -> tuple[Change, str | None]:
    """Turn what exists (and what the state file remembers) into one change, or a refusal."""
    operation = (recorded or {}).get("operation") or None
    if r.external:
        if current is None:
            return Change(r, "no-op", ["not found"]), (
                f"{r.describe()} does not exist (pros reads it but never creates it); create it first or "
                "correct the option that names it"
            )
        return Change(r, "no-op", ["exists (read only)"], current=current, origin="pre-existing"), None
    if current is None:
        token = (operation or {}).get("continuation_token")
        if operation and token and operation.get("action") in ("create", "update"):
            return Change(
                r,
                "resume",
                [
                    f"a {operation['action']} started at {operation.get('started_at')} is still recorded as "
                    "running; resuming its long-running operation instead of starting another"
                ],
                resume_action=operation["action"],
                continuation_token=token,
            ), None
        reasons = ["does not exist"]
        if recorded and recorded.get("status") == "succeeded":
            reasons = ["recorded in the state file but gone from Azure; creating it again"]
        explain = getattr(r, "absent_reason", None)  # kinds that can say more (a package never deployed)
        if explain is not None:
            reasons = [explain(recorded)]
        return Change(r, "create", reasons), None

    origin = (recorded or {}).get("origin") or "created"
    adopted = origin == "pre-existing"
    # Ownership is proven by the resource's own tags, never by the state file alone: pros records
    # a resource when it starts creating it, so a create that failed (or a process killed before
    # its PUT) leaves a record under a name someone else may since have taken.
    if not r.is_ours(current) and not adopted:
        if not options.adopt:
            recorded_note = (
                " The state file records it because an earlier run started creating it, but the live "
                "resource does not carry this deployment's tags, so it is treated as someone else's."
                if recorded and origin == "created"
                else ""
            )
            return Change(r, "no-op", ["exists, not created by pros"], current=current), (
                f"{r.describe()} already exists but was not created by pros (it lacks the "
                f"managed-by=pros / pros-deployment={r.spec.base_name} tags).{recorded_note} Pass --adopt "
                "to manage it (it is then recorded as pre-existing and teardown will never delete it), "
                "restore the tags if it is this deployment's (az tag update --operation merge --resource-id "
                f"{r.arm_id()} --tags managed-by=pros pros-deployment={r.spec.base_name}), or choose "
                "another --base-name"
            )
        origin, adopted = "pre-existing", True

    if r.in_progress(current):
        state = r.provisioning_state(current)
        token = (operation or {}).get("continuation_token")
        action = (operation or {}).get("action")
        if token and action in ("create", "update"):
            return Change(
                r,
                "resume",
                [f"provisioningState is {state}: resuming the {action} an earlier run started"],
                current=current,
                origin=origin,
                resume_action=action,
                continuation_token=token,
            ), None
        return Change(
            r,
            "resume",
            [f"provisioningState is {state}: waiting for the running operation to finish"],
            current=current,
            origin=origin,
        ), None

    diffs = r.diff(current, adopted=adopted)
    immutable = [d for d in diffs if d.immutable]
    if immutable and all(d.path in r.replace_on for d in immutable):
        # e.g. a role assignment still granting to the identity of a since-recreated resource
        return Change(r, "replace", [d.reason() for d in immutable], current=current, origin=origin), None
    if immutable:
        details = "; ".join(d.reason() for d in immutable)
        return Change(r, "no-op", [d.reason() for d in immutable], current=current, origin=origin), (
            f"{r.describe()} differs in a setting Azure cannot change in place ({details}); pros will "
            "not replace it silently. Delete it yourself (pros teardown, or the az delete command) "
            "and run again, or keep the existing value in your options"
        )
    reasons = [d.reason() for d in diffs]
    state = (r.provisioning_state(current) or "").lower()
    if state == "failed":
        reasons.insert(0, "provisioningState is Failed: applying it again")
        # No field diffs: a failed resource is re-applied with the full PUT, not patched.
        return Change(r, "update", reasons, current=current, origin=origin), None
    if adopted and not (recorded or {}).get("origin"):
        reasons.insert(0, "adopting the existing resource (--adopt): recorded as pre-existing")
    if diffs:
        return Change(r, "update", reasons, current=current, diffs=diffs, origin=origin), None
    return Change(r, "no-op", reasons or ["up to date"], current=current, origin=origin), None


def outside_scope(r: Resource, current: dict[str, Any] | None) -> tuple[Change, str | None]:
    """A resource another command owns: read for its body, never changed whatever its diffs
    (drift there is that command's business), but it must exist and be settled."""
    owner = r.created_by
    if current is None:
        return Change(r, "no-op", ["not found"], read_only=True), (
            f"{r.describe()} does not exist; run `{owner}` first"
        )
    if r.in_progress(current):
        state = r.provisioning_state(current)
        return Change(r, "no-op", [f"provisioningState is {state}"], current=current, read_only=True), (
            f"{r.describe()} is still being created or changed (provisioningState {state}); wait for it "
            f"to finish: run `{owner}` again"
        )
    return Change(r, "no-op", ["read only (outside this command)"], current=current, read_only=True), None


def make_plan(
    resources: Sequence[Resource],
    *,
    clients: Any,
    recorded: Callable[[str], Mapping[str, Any] | None],
    options: PlanOptions,
    stop: threading.Event | None = None,
    on_read: Callable[[Resource], None] | None = None,
    removed: Sequence[tuple[Resource, str]] = (),
) -> Plan:
    """Read every resource (parents first, independent ones in parallel) and decide each change.

    ``removed``: resources the state file records that the desired deployment no longer has,
    each with the reason (e.g. its region was removed); they are read in the same pass and
    planned as deletes (see :func:`decide_removal`)."""
    if options.offline:
        return offline_plan(resources)
    why = {r.key: reason for r, reason in removed}
    resources = [*resources, *(r for r, _ in removed)]
    by_key = {r.key: r for r in resources}
    # Reads wait only for the structural parent (absent parent: absent child, no request), and
    # for all dependencies of the few resources that need their bodies to know what to read.
    read_deps: dict[str, tuple[str, ...]] = {}
    for r in resources:
        needs = [r.parent] if r.parent and r.parent in by_key else []
        if r.reads_inputs:
            needs += [d for d in r.depends_on if d in by_key]
        read_deps[r.key] = tuple(dict.fromkeys(needs))

    def read(key: str, results: Mapping[str, NodeResult]) -> Any:
        r = by_key[key]
        if r.parent and r.parent in results and results[r.parent].value is None:
            return None  # the parent does not exist, so neither does this: no request needed
        if r.reads_inputs:
            r.inputs = {d: results[d].value for d in r.depends_on if d in results}
        if on_read:
            on_read(r)
        try:
            return r.read(clients)
        except Exception as exc:
            raise NodeFailed(f"reading {r.describe()} failed: {describe(exc)}") from exc

    results = run_dag(read_deps, read, parallelism=options.parallelism, stop=stop)
    errors: list[str] = []
    changes: list[Change] = []
    unread = 0
    for r in resources:
        r.inputs = {d: results[d].value for d in r.depends_on if d in results}
    missing: set[str] = set()  # out-of-scope resources found absent
    for r in resources:
        result = results[r.key]
        if result.status == "failed":
            errors.append(result.error or f"reading {r.describe()} failed")
            continue
        if result.status != "succeeded":
            unread += 1  # waited on a read that failed, or was interrupted: the root cause is listed
            continue
        entry = recorded(r.key)
        remember = getattr(r, "remember", None)  # kinds whose diff needs their state entry
        if remember is not None:
            remember(entry)
        if r.key in why:
            with_parent = r.deleted_with_parent and r.parent in why
            change, refusal = decide_removal(r, result.value, entry, why[r.key], with_parent=with_parent)
        elif options.scope is not None and r.key not in options.scope:
            change, refusal = outside_scope(r, result.value)
            if result.value is None:
                missing.add(r.key)
                if r.parent in missing:
                    refusal = None  # its parent is missing too: that is the root cause listed
        else:
            change, refusal = decide(r, result.value, entry, options)
        changes.append(change)
        if refusal:
            errors.append(refusal)
    if errors and unread:
        errors.append(f"{unread} more resource(s) were not read because of the error(s) above")
    if not errors:
        errors.extend(preflight([c for c in changes if c.action == "create"], clients, options))
    return Plan(changes, errors=errors)


def preflight(creates: Sequence[Change], clients: Any, options: PlanOptions) -> list[str]:
    """Checks every create needs before anything is created (global names, soft-deleted names,
    regional availability), run in parallel."""
    by_key = {c.key: c.resource for c in creates}
    if not by_key:
        return []

    def check(key: str, _results: Mapping[str, NodeResult]) -> Any:
        r = by_key[key]
        try:
            return r.preflight(clients)
        except Exception as exc:
            raise NodeFailed(f"checking {r.describe()} before creating it failed: {describe(exc)}") from exc

    results = run_dag({k: () for k in by_key}, check, parallelism=options.parallelism)
    errors = []
    for key, result in results.items():
        if result.status != "succeeded":
            errors.append(result.error or f"checking {by_key[key].describe()} was {result.status}")
        elif result.value:
            errors.append(str(result.value))
    return errors
