# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One skeleton for Vigil's API modules: GET -> normalise -> compare -> write only on a difference.

A module describes its resource with an ``ApiResource`` subclass: how to fetch it, how to
normalise the server's answer, the desired state built from the options, and the write
calls. ``reconcile`` does the rest, once for every module:

* ``state=present``: an absent resource is created, an equal one left alone, a different
  one updated; ``state=absent``: a present resource is deleted.
* Check mode sends no write request and reports what would change.
* The result: ``changed``; the resource after the task under the module's documented
  ``result_key`` (``{}`` when absent); ``changed_fields``, the dotted paths that differ
  (every top-level field on create and delete); ``diff`` (``before``/``after``, ``{}``
  for an absent resource) in diff mode; plus what the module adds in ``extra_result``.
* A failed call ends the task through ``fail_api``: one message (what was attempted, the
  method and URL, the status, the server's reason, a hint), with ``status``, ``method``,
  ``url`` and ``response`` in the result.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import same
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    API_MUTUALLY_EXCLUSIVE,
    API_REQUIRED_TOGETHER,
    ApiClient,
    ApiError,
    ApiModule,
    UntrustedAnswer,
)

STATES = ("present", "absent")
REASON_CHARS = 500


# --------------------------------------------------------------------------- module set-up
def state_option() -> Dict[str, Any]:
    """The ``state`` option every resource module has."""
    return dict(type="str", choices=list(STATES), default="present")


def api_module(argument_spec: Dict[str, Any], family_exclusive: Optional[Sequence[Any]] = None,
               family_together: Optional[Sequence[Any]] = None, **kwargs: Any) -> ApiModule:
    """An ApiModule with check mode and the family's constraints (by default the shared API options') plus the
    module's own (``mutually_exclusive``, ``required_together``, ``required_if``...)."""
    exclusive = API_MUTUALLY_EXCLUSIVE if family_exclusive is None else family_exclusive
    together = API_REQUIRED_TOGETHER if family_together is None else family_together
    return ApiModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=list(exclusive) + list(kwargs.pop("mutually_exclusive", [])),
        required_together=list(together) + list(kwargs.pop("required_together", [])),
        **kwargs,
    )


# --------------------------------------------------------------------------- errors
def error_reason(body: Any) -> str:
    """The server's own reason in an error answer (Elasticsearch, Kibana, Grafana or plain text)."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # Elasticsearch: {"error": {"type", "reason", "root_cause": [...]}}
            reason = err.get("reason") or err.get("type")
            causes = err.get("root_cause") or []
            if causes and isinstance(causes[0], dict) and causes[0].get("reason") not in (None, reason):
                return "%s (%s)" % (reason, causes[0].get("reason"))
            return str(reason)
        message = body.get("message") or body.get("msg") or err  # Kibana and Grafana
        if message:
            if body.get("messageId"):
                return "%s (%s)" % (message, body["messageId"])
            return str(message)
    if body is None or body == "":
        return "no message"
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
    return text[:REASON_CHARS]


def describe_error(exc: ApiError) -> str:
    """``METHOD URL returned HTTP 400: reason`` (or why no answer came, or why the answer is refused)."""
    if isinstance(exc, UntrustedAnswer):
        return str(exc)
    if exc.status < 0:
        return "%s %s got no answer: %s" % (exc.method, exc.url, exc.body)
    return "%s %s returned HTTP %s: %s" % (exc.method, exc.url, exc.status, error_reason(exc.body))


def fail_api(module: AnsibleModule, action: str, exc: ApiError, hint: str = "", **extra: Any) -> None:
    """End the task for a failed call: ``<action> failed: <call and reason>. <hint>``."""
    msg = "%s failed: %s" % (action, describe_error(exc))
    if hint:
        msg = "%s. %s" % (msg, hint)
        extra["hint"] = hint
    module.fail_json(msg=msg, status=exc.status, method=exc.method, url=exc.url, response=exc.body, **extra)


# --------------------------------------------------------------------------- comparison
def is_subset(desired: Any, actual: Any) -> bool:
    """True when everything in ``desired`` is in ``actual``.

    Dicts: every desired key is present with a matching value (the server may add
    keys, for example defaults). Lists: same length, element by element. Scalars:
    strict JSON equality.
    """
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and is_subset(v, actual[k]) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(desired) != len(actual):
            return False
        return all(is_subset(d, a) for d, a in zip(desired, actual))
    return same(desired, actual)


def _paths(before: Any, after: Any, prefix: str, keys: Callable[[Dict, Dict], Iterable[Any]],
           leaf_same: Callable[[Any, Any], bool]) -> List[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        paths: List[str] = []
        for key in sorted(keys(before, after), key=str):
            sub = "%s%s" % (prefix + "." if prefix else "", key)
            if key not in before or key not in after:
                paths.append(sub)
            else:
                paths.extend(_paths(before[key], after[key], sub, keys, leaf_same))
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        paths = []
        for index, (b, a) in enumerate(zip(before, after)):
            paths.extend(_paths(b, a, "%s[%d]" % (prefix, index), keys, leaf_same))
        return paths
    return [] if leaf_same(before, after) else [prefix or "(root)"]


def changed_paths(before: Any, after: Any) -> List[str]:
    """Dotted paths whose values differ between two JSON documents."""
    return _paths(before, after, "", lambda b, a: set(b) | set(a), same)


def subset_changed_paths(desired: Any, actual: Any) -> List[str]:
    """Like changed_paths, but only for what ``desired`` sets (keys the server adds are ignored)."""
    return _paths(actual, desired, "", lambda actual_, desired_: desired_, lambda a, d: is_subset(d, a))


def project(actual: Optional[Dict[str, Any]], keys: Iterable[str]) -> Dict[str, Any]:
    """The keys of ``actual`` that the user manages (a readable diff 'before')."""
    if not actual:
        return {}
    return {k: actual[k] for k in keys if k in actual}


def without_keys(value: Dict[str, Any], keys: Iterable[str]) -> Dict[str, Any]:
    drop = set(keys)
    return {k: v for k, v in value.items() if k not in drop}


def require_present_options(module: AnsibleModule, names: Sequence[str], what: str) -> Optional[str]:
    missing = [n for n in names if module.params.get(n) in (None, "", [], {})]
    if missing:
        return "state=present needs %s to %s; missing: %s" % (", ".join(names), what, ", ".join(missing))
    return None


def first_problem(*checks: Callable[[], Optional[str]]) -> Optional[str]:
    for check in checks:
        problem = check()
        if problem:
            return problem
    return None


# --------------------------------------------------------------------------- the resource
class ApiResource:
    """One API resource as ``reconcile`` sees it. A module fills in the hooks it needs.

    Required: ``fetch``, ``normalise``, ``desired`` and the writes (``create``, ``update``,
    ``delete``). States are plain JSON (dicts); ``normalise(raw)`` and ``desired()`` must be
    comparable with ``same``.
    """

    kind = "resource"
    # The result key that holds the resource (documented in the module's RETURN).
    result_key = "resource"
    # A singleton always exists: state=absent resets it to ``desired()`` through ``update``.
    singleton = False
    # Extra words for a failure status (a 401, a 403), per family.
    status_hints: Dict[int, str] = {}

    def __init__(self, module: AnsibleModule, client: ApiClient):
        self.module = module
        self.client = client
        self.params = module.params
        # What the task did (or, in check mode, would do), set before the result is built:
        # created, updated, deleted, unchanged or absent (nothing to delete).
        self.outcome = ""

    @property
    def state(self) -> str:
        return self.params.get("state") or "present"

    @property
    def name(self) -> str:
        """How messages name the resource."""
        return str(self.params.get("name"))

    # -- what a module supplies -----------------------------------------------------
    def fetch(self) -> Optional[Any]:
        """The resource as the server has it, or None when it does not exist (documented 404 only)."""
        raise NotImplementedError

    def normalise(self, raw: Any) -> Dict[str, Any]:
        """The fetched resource in the comparable form (server-only fields dropped, defaults filled in)."""
        raise NotImplementedError

    def desired(self) -> Dict[str, Any]:
        """The state the options ask for, in the same form as ``normalise``."""
        raise NotImplementedError

    def create(self) -> Any:
        """Create the resource; what the server answered (or None)."""
        raise NotImplementedError

    def update(self, raw: Any) -> Any:
        """Bring the fetched resource ``raw`` to the desired state; what the server answered (or None)."""
        raise NotImplementedError

    def delete(self, raw: Any) -> None:
        raise NotImplementedError

    # -- optional hooks -------------------------------------------------------------
    def check_options(self) -> Optional[str]:
        """Argument problems for any state (checked before any request); None when the options are usable."""
        return None

    def validate(self) -> Optional[str]:
        """Argument problems for state=present; None when the options are usable."""
        return None

    def refusal(self, raw: Any) -> Optional[str]:
        """Why this module must never manage the fetched resource (a built-in one); None if it may."""
        return None

    def create_problem(self, desired: Dict[str, Any]) -> Optional[str]:
        """Why the resource cannot be created (an option only a create needs is missing); None if it can."""
        return None

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        """Why the difference cannot be written (a field the API cannot change, another owner); None if it can."""
        return None

    def delete_problem(self, raw: Any) -> Optional[str]:
        return None

    def state_of(self, raw: Any) -> Dict[str, Any]:
        """The comparable current state; a family adds what all its resources share (Grafana: provenance)."""
        return self.normalise(raw)

    def wanted_state(self) -> Dict[str, Any]:
        """The comparable desired state; a family adds what all its resources share."""
        return self.desired()

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        return same(current, desired)

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        """What differs; ``current`` is None on create, ``desired`` None on delete."""
        return changed_paths(current or {}, desired or {})

    def view(self, state: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """What the result and the diff show of a state (secrets masked); {} for an absent resource."""
        return dict(state) if state is not None else {}

    def written(self, desired: Dict[str, Any], answer: Any) -> Dict[str, Any]:
        """The state after a write (by default the desired one; a module may read the answer)."""
        return desired

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        """The value under ``result_key``: by default the view of the state after the task.

        ``raw`` is the fetched resource (None when it did not exist), ``answer`` what the
        write returned (None in check mode or without a write).
        """
        return self.view(after)

    def extra_result(self) -> Dict[str, Any]:
        return {}

    def is_create_conflict(self, exc: ApiError) -> bool:
        """The create answer says the resource exists already (a race with another writer)."""
        return False

    def conflict_hint(self) -> str:
        return ""

    def delete_hint(self) -> str:
        return ""

    def error_hint(self, exc: ApiError) -> str:
        return self.status_hints.get(exc.status, "")

    # -- the cycle ------------------------------------------------------------------
    def fail(self, action: str, exc: ApiError, hint: str = "") -> None:
        fail_api(self.module, "%s %s %r" % (action, self.kind, self.name), exc, hint or self.error_hint(exc))


def reconcile(resource: ApiResource) -> None:
    """GET -> normalise -> compare -> write only on difference; exits the module."""
    module = resource.module
    problem = resource.check_options() or (resource.validate() if resource.state == "present" else None)
    if problem:
        module.fail_json(msg=problem)
    try:
        if resource.state == "absent" and not resource.singleton:
            _absent(resource)
        else:
            _present(resource)
    except ApiError as exc:
        resource.fail({"GET": "Reading"}.get(exc.method, exc.method), exc)


def _finish(resource: ApiResource, changed: bool, before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]],
            fields: List[str], raw: Any = None, answer: Any = None) -> None:
    module = resource.module
    if before is None:
        resource.outcome = "created" if after is not None else "absent"
    elif after is None:
        resource.outcome = "deleted"
    else:
        resource.outcome = "updated" if changed else "unchanged"
    result: Dict[str, Any] = dict(changed=changed)
    result[resource.result_key] = resource.returned(after, raw, answer, changed)
    result["changed_fields"] = fields
    result.update(resource.extra_result())
    if module._diff:
        result["diff"] = dict(before=resource.view(before), after=resource.view(after))
    module.exit_json(**result)


def _fetch_checked(resource: ApiResource) -> Any:
    raw = resource.fetch()
    if raw is not None:
        problem = resource.refusal(raw)
        if problem:
            resource.module.fail_json(msg=problem)
    return raw


def _absent(resource: ApiResource) -> None:
    raw = _fetch_checked(resource)
    if raw is None:
        _finish(resource, False, None, None, [])
        return
    current = resource.state_of(raw)
    problem = resource.delete_problem(raw)
    if problem:
        resource.module.fail_json(msg=problem)
    if not resource.module.check_mode:
        try:
            resource.delete(raw)
        except ApiError as exc:
            resource.fail("Deleting", exc, resource.delete_hint())
    _finish(resource, True, current, None, resource.changed_fields(current, None), raw)


def _present(resource: ApiResource) -> None:
    module = resource.module
    raw = _fetch_checked(resource)
    desired = resource.wanted_state()
    if raw is None:
        problem = resource.create_problem(desired)
        if problem:
            module.fail_json(msg=problem)
        fields = resource.changed_fields(None, desired)
        if module.check_mode:
            _finish(resource, True, None, desired, fields)
            return
        try:
            answer = resource.create()
        except ApiError as exc:
            raw = _after_create_conflict(resource, exc)
        else:
            _finish(resource, True, None, resource.written(desired, answer), fields, None, answer)
            return
    _update(resource, raw, desired)


def _after_create_conflict(resource: ApiResource, exc: ApiError) -> Any:
    """A create was refused as a conflict: adopt the resource if it is now visible, else fail clearly."""
    if not resource.is_create_conflict(exc):
        resource.fail("Creating", exc)
    raw = _fetch_checked(resource)
    if raw is None:
        resource.fail("Creating", exc, "The server reports a conflict but no %s %r is visible. %s"
                      % (resource.kind, resource.name, resource.conflict_hint()))
    resource.module.warn("%s %r was created by someone else between this task's read and its create (the server "
                         "answered HTTP %s); the task updates that %s instead"
                         % (resource.kind, resource.name, exc.status, resource.kind))
    return raw


def _update(resource: ApiResource, raw: Any, desired: Dict[str, Any]) -> None:
    module = resource.module
    current = resource.state_of(raw)
    if resource.same(current, desired):
        _finish(resource, False, current, current, [], raw)
        return
    problem = resource.update_problem(raw, current, desired)
    if problem:
        module.fail_json(msg=problem)
    fields = resource.changed_fields(current, desired)
    answer = None
    after = desired
    if not module.check_mode:
        try:
            answer = resource.update(raw)
        except ApiError as exc:
            resource.fail("Updating", exc)
        after = resource.written(desired, answer)
    _finish(resource, True, current, after, fields, raw, answer)
