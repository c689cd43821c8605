"""In-process fake of Grafana's alerting provisioning HTTP API.

Follows the documented behaviour (Grafana "Alerting provisioning HTTP API" reference and
the swagger definitions in pkg/services/ngalert/api/tooling/definitions):

* 401 without valid credentials (Bearer token or basic auth); ``X-Grafana-Org-Id`` picks
  the organisation, each with its own resources.
* Alert rules: GET/PUT/DELETE ``/alert-rules/{uid}`` (GET 404 when missing), POST
  ``/alert-rules`` (201; 409 when the UID exists or another rule in the folder has the
  title; 400 on an invalid body such as a missing ``title`` or ``condition``). The server
  fills ``intervalMs``/``maxDataPoints`` into query models, canonicalises durations and
  adds ``id``, ``updated``, ``orgID``. ``/alert-rules/export`` answers in the
  file-provisioning format (``groups``), not the API format.
* Rule groups: GET/PUT/DELETE ``/folder/{folderUid}/rule-groups/{group}``.
* Contact points: GET list (``?name=``), POST (202; 409 on a UID clash), PUT/DELETE
  ``/{uid}``; secret settings come back as ``[REDACTED]`` and a PUT that sends
  ``[REDACTED]`` keeps the stored secret. Deleting one still used by the policy tree: 409.
* Policies: GET/PUT/DELETE of the whole tree; DELETE resets it to Grafana's default tree.
* Mute timings: GET list, GET/PUT/DELETE ``/{name}``, POST (201; an existing name is a 400
  with messageId ``alerting.notifications.time-intervals.nameExists``, as in Grafana).
  Stored in Alertmanager's canonical form (lower-case weekdays, month names, ``HH:MM``).
* Provenance: a write without ``X-Disable-Provenance`` marks the resource ``api``, with it
  ``""`` (field omitted in GET answers). Moving ``api`` to ``""`` is refused with 403 except
  for alert rules; a DELETE whose header asks for ``""`` on an ``api`` resource is a 403.

Test helpers: ``fail_next(n, status)`` answers the next n requests with an error (Grafana
still starting), ``before_create`` runs once, just before the next POST is handled (simulates
another writer; an answer it returns replaces the real one), ``seed_*`` put resources in place
without recording a request.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from standins.base import FakeApi, Request

Answer = Tuple[int, Any]
PROV = "/api/v1/provisioning"
REDACTED = "[REDACTED]"
DEFAULT_TREE = {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
SECRET_KEYS = {
    "webhook": ("password", "authorization_credentials"),
    "slack": ("url", "token"),
    "telegram": ("bottoken",),
    "pagerduty": ("integrationKey",),
    "opsgenie": ("apiKey",),
    "discord": ("url",),
    "googlechat": ("url",),
    "email": (),
    "teams": (),
    # Grafana's "Alertmanager" integration: url is one or more comma-separated Alertmanager URLs.
    "prometheus-alertmanager": ("basicAuthPassword",),
}
REQUIRED_SETTINGS = {
    "webhook": ("url",),
    "email": ("addresses",),
    "telegram": ("bottoken", "chatid"),
    "prometheus-alertmanager": ("url",),
}
NO_DATA_STATES = ("NoData", "Alerting", "OK", "KeepLast")
EXEC_ERR_STATES = ("Error", "Alerting", "OK", "KeepLast")
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
DUR_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
DUR_MULT = (31536000000, 604800000, 86400000, 3600000, 60000, 1000, 1)
WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]


def error(status: int, message: str, message_id: str = "") -> Answer:
    body = {"message": message, "statusCode": status}
    if message_id:
        body["messageId"] = message_id
    return status, body


class BadRequest(Exception):
    pass


# ----------------------------------------------------------------- value helpers (Grafana side)
def parse_ms(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 1000
    text = str(value)
    if text == "0":
        return 0
    match = DUR_RE.match(text)
    if not text or not match:
        raise BadRequest("invalid duration %r" % (value,))
    return sum(int(g or 0) * m for g, m in zip(match.groups(), DUR_MULT))


def print_duration(ms: int) -> str:
    """Prometheus model.Duration.String()."""
    if not ms:
        return "0s"
    parts = []
    for unit, mult, exact in (("y", DUR_MULT[0], True), ("w", DUR_MULT[1], True), ("d", DUR_MULT[2], True),
                              ("h", DUR_MULT[3], False), ("m", DUR_MULT[4], False), ("s", DUR_MULT[5], False),
                              ("ms", 1, False)):
        if exact and ms % mult:
            continue
        if ms >= mult:
            parts.append("%d%s" % (ms // mult, unit))
            ms %= mult
    return "".join(parts)


class Org:
    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self.rules: Dict[str, Dict[str, Any]] = {}
        self.rule_prov: Dict[str, str] = {}
        self.group_interval: Dict[Tuple[str, str], int] = {}
        self.contact_points: Dict[str, Dict[str, Any]] = {
            "default-email": {"uid": "default-email", "name": "grafana-default-email", "type": "email",
                              "settings": {"addresses": "<example@email.com>"}, "disableResolveMessage": False},
        }
        self.cp_prov: Dict[str, str] = {"default-email": ""}
        self.tree: Dict[str, Any] = copy.deepcopy(DEFAULT_TREE)
        self.tree_prov = ""
        self.mute_timings: Dict[str, Dict[str, Any]] = {}
        self.mt_prov: Dict[str, str] = {}
        self.folders: Dict[str, str] = {"vigil-alerts": "Vigil alerts", "other-folder": "Other"}


class GrafanaFake(FakeApi):
    def __init__(self, token: str = "glsa_fake_token", username: str = "admin", password: str = "admin-pw") -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.password = password
        self.orgs: Dict[int, Org] = {}
        self.failures: List[Answer] = []
        self.before_create: Optional[Callable[["GrafanaFake", Request], Optional[Answer]]] = None
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # ------------------------------------------------------------------ test helpers
    def org(self, org_id: int = 1) -> Org:
        return self.orgs.setdefault(org_id, Org(org_id))

    def fail_next(self, count: int, status: int = 503) -> None:
        self.failures.extend([error(status, "Grafana is starting")] * count)

    def seed_rule(self, body: Dict[str, Any], provenance: str = "api", org_id: int = 1) -> Dict[str, Any]:
        rule = self._store_rule(self.org(org_id), body, body["uid"], provenance)
        return rule

    def seed_contact_point(self, body: Dict[str, Any], provenance: str = "api", org_id: int = 1) -> None:
        org = self.org(org_id)
        org.contact_points[body["uid"]] = copy.deepcopy(body)
        org.cp_prov[body["uid"]] = provenance

    def seed_mute_timing(self, body: Dict[str, Any], provenance: str = "api", org_id: int = 1) -> None:
        org = self.org(org_id)
        org.mute_timings[body["name"]] = self._canonical_mute_timing(body)
        org.mt_prov[body["name"]] = provenance

    def seed_tree(self, tree: Dict[str, Any], provenance: str = "api", org_id: int = 1) -> None:
        org = self.org(org_id)
        org.tree = self._canonical_route(tree)
        org.tree_prov = provenance

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Answer:
        if self.failures:
            return self.failures.pop(0)
        if not self._authorised(req.headers.get("authorization", "")):
            return error(401, "Unauthorized", "auth.unauthorized")
        try:
            org = self.org(int(req.headers.get("x-grafana-org-id", "1")))
        except ValueError:
            return error(400, "invalid X-Grafana-Org-Id")
        provenance = "" if req.headers.get("x-disable-provenance") else "api"
        if req.method == "POST" and self.before_create is not None:
            hook, self.before_create = self.before_create, None
            answer = hook(self, req)
            if answer is not None:
                return answer
        try:
            return self._route(req, org, provenance)
        except BadRequest as exc:
            return error(400, str(exc), "alerting.invalidRequest")

    def _authorised(self, header: str) -> bool:
        if header == "Bearer %s" % self.token:
            return True
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return user == self.username and password == self.password
        return False

    def _route(self, req: Request, org: Org, prov: str) -> Answer:
        path, method = req.path, req.method
        if not path.startswith(PROV + "/"):
            return error(404, "Not found")
        parts = path[len(PROV) + 1:].split("/")
        head = parts[0]
        if head == "alert-rules":
            return self._alert_rules(method, parts[1:], req, org, prov)
        if head == "folder" and len(parts) == 4 and parts[2] == "rule-groups":
            return self._rule_group(method, parts[1], parts[3], req, org, prov)
        if head == "contact-points":
            return self._contact_points(method, parts[1:], req, org, prov)
        if head == "policies" and len(parts) == 1:
            return self._policies(method, req, org, prov)
        if head == "mute-timings":
            return self._mute_timings(method, parts[1:], req, org, prov)
        return error(404, "Not found")

    # ------------------------------------------------------------------ alert rules
    def _alert_rules(self, method: str, rest: List[str], req: Request, org: Org, prov: str) -> Answer:
        if not rest:
            if method == "GET":
                return 200, [self._rule_out(org, uid) for uid in sorted(org.rules)]
            if method == "POST":
                return self._create_rule(req.body, org, prov)
            return error(405, "Method not allowed")
        if rest == ["export"] and method == "GET":
            return 200, self._export(org, list(org.rules))
        uid = rest[0]
        if len(rest) == 2 and rest[1] == "export" and method == "GET":
            return (200, self._export(org, [uid])) if uid in org.rules else error(404, "rule not found")
        if len(rest) != 1:
            return error(404, "Not found")
        if method == "GET":
            return (200, self._rule_out(org, uid)) if uid in org.rules else error(
                404, "could not find alert rule", "alerting.rule.notFound")
        if method == "PUT":
            return self._update_rule(uid, req.body, org, prov)
        if method == "DELETE":
            return self._delete_rule(uid, org, prov)
        return error(405, "Method not allowed")

    def _create_rule(self, body: Any, org: Org, prov: str) -> Answer:
        self._validate_rule(body, need_location=True)
        uid = body.get("uid") or "gen%d" % next(self._ids)
        if uid in org.rules:
            return error(409, "conflicting alert rule found [rule_uid: '%s']: rule UID under the same organisation "
                         "should be unique" % uid, "alerting.alert-rule.conflict")
        clash = self._title_clash(org, body, uid)
        if clash:
            return clash
        self._store_rule(org, body, uid, prov)
        return 201, self._rule_out(org, uid)

    def _update_rule(self, uid: str, body: Any, org: Org, prov: str) -> Answer:
        if uid not in org.rules:
            return error(404, "could not find alert rule", "alerting.rule.notFound")
        self._validate_rule(body, need_location=True)
        stored = org.rule_prov[uid]
        if not (stored == prov or stored == "" or (stored == "api" and prov == "")):
            return self._provenance_error(stored, prov)
        clash = self._title_clash(org, body, uid)
        if clash:
            return clash
        self._store_rule(org, body, uid, prov)
        return 200, self._rule_out(org, uid)

    def _delete_rule(self, uid: str, org: Org, prov: str) -> Answer:
        if uid in org.rules:
            stored = org.rule_prov[uid]
            if stored != prov and stored != "":
                return self._provenance_error(stored, prov)
            del org.rules[uid]
            del org.rule_prov[uid]
        return 204, None

    @staticmethod
    def _provenance_error(stored: str, wanted: str) -> Answer:
        return error(403, "Resource with provenance status '%s' cannot be managed via API that handles resources "
                     "with provenance status '%s'" % (stored or "none", wanted or "none"),
                     "alerting.notifications.invalidProvenance")

    @staticmethod
    def _clashing_uid(org: Org, body: Dict[str, Any], uid: str, ignore: Tuple[str, ...] = ()) -> Optional[str]:
        """UID of another rule with the same title in the same folder (titles are unique per folder)."""
        for other in org.rules.values():
            if (other["uid"] not in (uid,) + ignore and other["folderUID"] == body["folderUID"]
                    and other["title"] == body["title"]):
                return other["uid"]
        return None

    def _title_clash(self, org: Org, body: Dict[str, Any], uid: str, ignore: Tuple[str, ...] = ()) -> Optional[Answer]:
        other = self._clashing_uid(org, body, uid, ignore)
        if other is None:
            return None
        return error(409, "conflicting alert rule found [rule_uid: '%s', title: '%s']: rule title under the same "
                     "organisation and folder should be unique" % (other, body["title"]),
                     "alerting.alert-rule.conflict")

    def _validate_rule(self, body: Any, need_location: bool) -> None:
        if not isinstance(body, dict):
            raise BadRequest("invalid rule specification: body must be a JSON object")
        keys = ["title", "condition", "data", "noDataState", "execErrState", "for"]
        if need_location:
            keys += ["folderUID", "ruleGroup"]
        for key in keys:
            if body.get(key) in (None, "", []):
                raise BadRequest("invalid rule specification: %s is required" % key)
        if len(body["title"]) > 190:
            raise BadRequest("invalid rule specification: title is longer than 190 characters")
        if body.get("uid") and not UID_RE.match(body["uid"]):
            raise BadRequest("invalid rule specification: invalid UID %r" % body["uid"])
        if body["noDataState"] not in NO_DATA_STATES or body["execErrState"] not in EXEC_ERR_STATES:
            raise BadRequest("invalid rule specification: unknown noDataState or execErrState")
        parse_ms(body["for"])
        refs = []
        for query in body["data"]:
            if not isinstance(query, dict) or not query.get("refId") or not isinstance(query.get("model"), dict):
                raise BadRequest("invalid alert query: refId and model are required")
            refs.append(query["refId"])
            rng = query.get("relativeTimeRange") or {}
            if query.get("datasourceUid") not in ("__expr__", "-100") and not rng.get("from", 0) > rng.get("to", 0):
                raise BadRequest("invalid alert query %s: invalid relative time range" % query["refId"])
        if body["condition"] not in refs:
            raise BadRequest("invalid rule specification: condition %s does not exist, must be one of %s"
                             % (body["condition"], refs))
        for key in ("labels", "annotations"):
            for value in (body.get(key) or {}).values():
                if not isinstance(value, str):
                    raise BadRequest("invalid rule specification: %s must be map[string]string" % key)

    def _store_rule(self, org: Org, body: Dict[str, Any], uid: str, prov: str) -> Dict[str, Any]:
        previous = org.rules.get(uid, {})
        data = []
        for query in body["data"]:
            model = dict(query["model"])
            if not model.get("intervalMs"):
                model["intervalMs"] = 1000
            if not model.get("maxDataPoints"):
                model["maxDataPoints"] = 43200
            rng = query.get("relativeTimeRange") or {}
            data.append({
                "refId": query["refId"],
                "queryType": model.get("queryType") or query.get("queryType") or "",
                "relativeTimeRange": {"from": int(rng.get("from", 0)), "to": int(rng.get("to", 0))},
                "datasourceUid": query.get("datasourceUid", ""),
                "model": model,
            })
        rule = {
            "id": previous.get("id") or next(self._ids),
            "uid": uid,
            "orgID": org.org_id,
            "folderUID": body["folderUID"],
            "ruleGroup": body["ruleGroup"],
            "title": body["title"],
            "condition": body["condition"],
            "data": data,
            "updated": "2025-01-01T00:00:%02dZ" % (next(self._clock) % 60),
            "noDataState": body["noDataState"],
            "execErrState": body["execErrState"],
            "for": print_duration(parse_ms(body["for"])),
            "keep_firing_for": print_duration(parse_ms(body.get("keep_firing_for") or "0s")),
            "annotations": dict(body.get("annotations") or {}),
            "labels": dict(body.get("labels") or {}),
            "isPaused": bool(body.get("isPaused")),
            "notification_settings": body.get("notification_settings"),
            "record": body.get("record"),
        }
        org.rules[uid] = rule
        org.rule_prov[uid] = prov
        org.group_interval.setdefault((rule["folderUID"], rule["ruleGroup"]), 60)
        return rule

    def _rule_out(self, org: Org, uid: str) -> Dict[str, Any]:
        rule = copy.deepcopy(org.rules[uid])
        for key in ("annotations", "labels"):  # omitempty
            if not rule[key]:
                del rule[key]
        if org.rule_prov[uid]:
            rule["provenance"] = org.rule_prov[uid]
        return rule

    def _export(self, org: Org, uids: List[str]) -> Dict[str, Any]:
        groups: Dict[Tuple[str, str], Dict[str, Any]] = {}
        for uid in sorted(uids):
            rule = org.rules[uid]
            key = (rule["folderUID"], rule["ruleGroup"])
            group = groups.setdefault(key, {
                "orgId": org.org_id, "name": rule["ruleGroup"], "folder": org.folders.get(rule["folderUID"], "?"),
                "interval": print_duration(org.group_interval.get(key, 60) * 1000), "rules": []})
            group["rules"].append({
                "uid": uid, "title": rule["title"], "condition": rule["condition"],
                "data": [{k: q[k] for k in ("refId", "relativeTimeRange", "datasourceUid", "model")}
                         for q in rule["data"]],
                "noDataState": rule["noDataState"], "execErrState": rule["execErrState"], "for": rule["for"],
                "annotations": rule["annotations"], "labels": rule["labels"], "isPaused": rule["isPaused"]})
        return {"apiVersion": 1, "groups": list(groups.values())}

    # ------------------------------------------------------------------ rule groups
    def _rule_group(self, method: str, folder: str, group: str, req: Request, org: Org, prov: str) -> Answer:
        members = [uid for uid, r in org.rules.items() if r["folderUID"] == folder and r["ruleGroup"] == group]
        if method == "GET":
            if not members:
                return error(404, "rule group not found", "alerting.ruleGroup.notFound")
            return 200, self._group_out(org, folder, group)
        if method == "DELETE":
            if not members:
                return error(404, "rule group not found", "alerting.ruleGroup.notFound")
            for uid in members:
                stored = org.rule_prov[uid]
                if stored != prov and stored != "":
                    return self._provenance_error(stored, prov)
            for uid in members:
                del org.rules[uid]
                del org.rule_prov[uid]
            org.group_interval.pop((folder, group), None)
            return 204, None
        if method == "PUT":
            return self._put_group(folder, group, members, req.body, org, prov)
        return error(405, "Method not allowed")

    def _put_group(self, folder: str, group: str, members: List[str], body: Any, org: Org, prov: str) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
            raise BadRequest("invalid rule group: rules are required")
        interval = body.get("interval")
        if not isinstance(interval, int) or interval <= 0 or interval % 10:
            raise BadRequest("invalid rule group: interval must be a positive multiple of the base interval 10s")
        rules = []
        for rule in body["rules"]:
            rule = dict(rule, folderUID=folder, ruleGroup=group)
            self._validate_rule(rule, need_location=True)
            rules.append(rule)
        for uid in members:
            stored = org.rule_prov[uid]
            if not (stored == prov or stored == "" or (stored == "api" and prov == "")):
                return self._provenance_error(stored, prov)
        wanted_uids = [r.get("uid") for r in rules]
        for rule in rules:
            clash = self._title_clash(org, rule, rule.get("uid") or "", ignore=tuple(members))
            if clash:
                return clash
        for uid in members:
            if uid not in wanted_uids:
                del org.rules[uid]
                del org.rule_prov[uid]
        for rule in rules:
            self._store_rule(org, rule, rule.get("uid") or "gen%d" % next(self._ids), prov)
        org.group_interval[(folder, group)] = interval
        return 200, self._group_out(org, folder, group)

    def _group_out(self, org: Org, folder: str, group: str) -> Dict[str, Any]:
        uids = [uid for uid, r in org.rules.items() if r["folderUID"] == folder and r["ruleGroup"] == group]
        return {"title": group, "folderUid": folder, "interval": org.group_interval.get((folder, group), 60),
                "rules": [self._rule_out(org, uid) for uid in uids]}

    # ------------------------------------------------------------------ contact points
    def _contact_points(self, method: str, rest: List[str], req: Request, org: Org, prov: str) -> Answer:
        if not rest:
            if method == "GET":
                names = req.query.get("name")
                return 200, [self._cp_out(org, uid) for uid in sorted(org.contact_points)
                             if not names or org.contact_points[uid]["name"] == names[0]]
            if method == "POST":
                return self._create_cp(req.body, org, prov)
            return error(405, "Method not allowed")
        uid = rest[0]
        if method == "PUT":
            return self._update_cp(uid, req.body, org, prov)
        if method == "DELETE":
            return self._delete_cp(uid, org)
        return error(405, "Method not allowed")

    @staticmethod
    def _validate_cp(body: Any) -> None:
        if not isinstance(body, dict):
            raise BadRequest("invalid contact point: body must be a JSON object")
        if not body.get("name"):
            raise BadRequest("invalid contact point: name is required")
        if body.get("type") not in SECRET_KEYS:
            raise BadRequest("invalid contact point: unknown type %r" % body.get("type"))
        settings = body.get("settings")
        if not isinstance(settings, dict):
            raise BadRequest("invalid contact point: settings are required")
        for key in REQUIRED_SETTINGS.get(body["type"], ()):
            if not settings.get(key):
                raise BadRequest("invalid contact point: settings.%s is required for %s" % (key, body["type"]))
        if body.get("uid") and not UID_RE.match(body["uid"]):
            raise BadRequest("invalid contact point: invalid UID %r" % body["uid"])

    def _create_cp(self, body: Any, org: Org, prov: str) -> Answer:
        self._validate_cp(body)
        uid = body.get("uid") or "gen%d" % next(self._ids)
        if uid in org.contact_points:
            return error(409, "contact point with UID '%s' already exists" % uid,
                         "alerting.notifications.contact-points.uidInUse")
        self._store_cp(org, uid, body, prov)
        return 202, self._cp_out(org, uid)

    def _update_cp(self, uid: str, body: Any, org: Org, prov: str) -> Answer:
        if uid not in org.contact_points:
            return error(404, "contact point not found", "alerting.notifications.contact-points.notFound")
        self._validate_cp(body)
        stored = org.cp_prov[uid]
        if stored != "" and prov == "":
            return self._provenance_error(stored, prov)
        settings = dict(body["settings"])
        for key in SECRET_KEYS[body["type"]]:
            if settings.get(key) == REDACTED:
                settings[key] = org.contact_points[uid]["settings"].get(key)
        self._store_cp(org, uid, dict(body, settings=settings), prov)
        return 202, {"message": "contactpoint updated"}

    def _delete_cp(self, uid: str, org: Org) -> Answer:
        if uid not in org.contact_points:
            return 202, None
        name = org.contact_points[uid]["name"]
        siblings = [u for u, cp in org.contact_points.items() if cp["name"] == name and u != uid]
        if not siblings and name in self._tree_receivers(org.tree):
            return error(409, "contact point '%s' is currently used by a notification policy" % name,
                         "alerting.notifications.contact-points.referenced")
        del org.contact_points[uid]
        del org.cp_prov[uid]
        return 202, None

    @staticmethod
    def _store_cp(org: Org, uid: str, body: Dict[str, Any], prov: str) -> None:
        org.contact_points[uid] = {"uid": uid, "name": body["name"], "type": body["type"],
                                   "settings": copy.deepcopy(body["settings"]),
                                   "disableResolveMessage": bool(body.get("disableResolveMessage"))}
        org.cp_prov[uid] = prov

    @staticmethod
    def _cp_out(org: Org, uid: str) -> Dict[str, Any]:
        cp = copy.deepcopy(org.contact_points[uid])
        for key in SECRET_KEYS[cp["type"]]:
            if cp["settings"].get(key):
                cp["settings"][key] = REDACTED
        if org.cp_prov[uid]:
            cp["provenance"] = org.cp_prov[uid]
        return cp

    # ------------------------------------------------------------------ policies
    def _policies(self, method: str, req: Request, org: Org, prov: str) -> Answer:
        if method == "GET":
            tree = copy.deepcopy(org.tree)
            if org.tree_prov:
                tree["provenance"] = org.tree_prov
            return 200, tree
        if method == "PUT":
            if org.tree_prov != "" and prov == "":
                return self._provenance_error(org.tree_prov, prov)
            tree = self._canonical_route(req.body, root=True)
            self._check_references(org, tree)
            org.tree = tree
            org.tree_prov = prov
            return 202, {"message": "policies updated"}
        if method == "DELETE":
            org.tree = copy.deepcopy(DEFAULT_TREE)
            org.tree_prov = ""
            return 202, {"message": "policies resetted"}
        return error(405, "Method not allowed")

    def _canonical_route(self, route: Any, root: bool = False) -> Dict[str, Any]:
        if not isinstance(route, dict):
            raise BadRequest("invalid route: must be a JSON object")
        if root and not route.get("receiver"):
            raise BadRequest("invalid route: root route must specify a default receiver")
        if root and (route.get("object_matchers") or route.get("matchers")):
            raise BadRequest("invalid route: root route must not have any matchers")
        out: Dict[str, Any] = {}
        for key, value in route.items():
            if key == "provenance" or value in (None, "", [], {}, False):
                continue
            if key in ("group_wait", "group_interval", "repeat_interval"):
                value = print_duration(parse_ms(value))
            elif key == "routes":
                value = [self._canonical_route(child) for child in value]
            elif key == "object_matchers":
                for matcher in value:
                    if not isinstance(matcher, list) or len(matcher) != 3 or matcher[1] not in ("=", "!=", "=~", "!~"):
                        raise BadRequest("invalid route: bad object matcher %r" % (matcher,))
            out[key] = copy.deepcopy(value)
        return out

    def _check_references(self, org: Org, route: Dict[str, Any]) -> None:
        names = {cp["name"] for cp in org.contact_points.values()}
        for receiver in self._tree_receivers(route):
            if receiver not in names:
                raise BadRequest("invalid route: receiver '%s' does not exist" % receiver)
        for name in self._tree_mute_timings(route):
            if name not in org.mute_timings:
                raise BadRequest("invalid route: mute time interval '%s' does not exist" % name)

    def _tree_receivers(self, route: Dict[str, Any]) -> List[str]:
        found = [route["receiver"]] if route.get("receiver") else []
        for child in route.get("routes") or []:
            found += self._tree_receivers(child)
        return found

    def _tree_mute_timings(self, route: Dict[str, Any]) -> List[str]:
        found = list(route.get("mute_time_intervals") or [])
        for child in route.get("routes") or []:
            found += self._tree_mute_timings(child)
        return found

    # ------------------------------------------------------------------ mute timings
    def _mute_timings(self, method: str, rest: List[str], req: Request, org: Org, prov: str) -> Answer:
        if not rest:
            if method == "GET":
                return 200, [self._mt_out(org, name) for name in sorted(org.mute_timings)]
            if method == "POST":
                body = req.body
                if not isinstance(body, dict) or not body.get("name"):
                    raise BadRequest("invalid time interval: name is required")
                if body["name"] in org.mute_timings:
                    return error(400, "Time interval with this name already exists. Use a different name or update "
                                 "existing one.", "alerting.notifications.time-intervals.nameExists")
                org.mute_timings[body["name"]] = self._canonical_mute_timing(body)
                org.mt_prov[body["name"]] = prov
                return 201, self._mt_out(org, body["name"])
            return error(405, "Method not allowed")
        name = rest[0]
        if name not in org.mute_timings:
            if method == "DELETE":
                return 204, None
            return error(404, "Time interval not found", "alerting.notifications.time-intervals.notFound")
        stored = org.mt_prov[name]
        if method == "GET":
            return 200, self._mt_out(org, name)
        if method == "PUT":
            if stored != "" and prov == "":
                return self._provenance_error(stored, prov)
            body = req.body
            if isinstance(body, dict) and body.get("version") and body["version"] != org.mute_timings[name]["version"]:
                return error(409, "provided version does not match the current version",
                             "alerting.notifications.conflict")
            timing = self._canonical_mute_timing(dict(body or {}, name=name))
            timing["version"] = "v%d" % next(self._ids)
            org.mute_timings[name] = timing
            org.mt_prov[name] = prov
            return 202, self._mt_out(org, name)
        if method == "DELETE":
            if stored != prov and stored != "":
                return self._provenance_error(stored, prov)
            if name in self._tree_mute_timings(org.tree):
                return error(409, "mute time interval '%s' is used by a notification policy" % name,
                             "alerting.notifications.time-intervals.used")
            del org.mute_timings[name]
            del org.mt_prov[name]
            return 204, None
        return error(405, "Method not allowed")

    @staticmethod
    def _mt_out(org: Org, name: str) -> Dict[str, Any]:
        timing = copy.deepcopy(org.mute_timings[name])
        if org.mt_prov[name]:
            timing["provenance"] = org.mt_prov[name]
        return timing

    def _canonical_mute_timing(self, body: Dict[str, Any]) -> Dict[str, Any]:
        intervals = []
        for interval in body.get("time_intervals") or []:
            if not isinstance(interval, dict):
                raise BadRequest("invalid time interval: each interval must be a JSON object")
            out: Dict[str, Any] = {}
            if interval.get("times"):
                out["times"] = [self._time_range(t) for t in interval["times"]]
            if interval.get("weekdays"):
                out["weekdays"] = [self._named_range(v, WEEKDAYS, 0) for v in interval["weekdays"]]
            if interval.get("days_of_month"):
                out["days_of_month"] = [self._int_range(v, -31, 31) for v in interval["days_of_month"]]
            if interval.get("months"):
                out["months"] = [self._named_range(v, MONTHS, 1) for v in interval["months"]]
            if interval.get("years"):
                out["years"] = [self._int_range(v, 1, 9999) for v in interval["years"]]
            if interval.get("location"):
                out["location"] = interval["location"]
            intervals.append(out)
        timing: Dict[str, Any] = {"name": body["name"], "version": "v%d" % next(self._ids)}
        if intervals:
            timing["time_intervals"] = intervals
        return timing

    @staticmethod
    def _time_range(value: Any) -> Dict[str, str]:
        def minutes(text: Any) -> int:
            match = re.match(r"^(\d{1,2}):(\d{2})$", str(text))
            if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
                raise BadRequest("invalid time interval: bad time %r" % (text,))
            return int(match.group(1)) * 60 + int(match.group(2))

        if not isinstance(value, dict):
            raise BadRequest("invalid time interval: times need start_time and end_time")
        start, end = minutes(value.get("start_time")), minutes(value.get("end_time"))
        if start >= end or end > 1440:
            raise BadRequest("invalid time interval: start_time must be before end_time")
        return {"start_time": "%02d:%02d" % divmod(start, 60), "end_time": "%02d:%02d" % divmod(end, 60)}

    @staticmethod
    def _named_range(value: Any, names: List[str], first: int) -> str:
        def index(text: str) -> int:
            text = text.strip().lower()
            if text in names:
                return names.index(text) + first
            if text.isdigit() and first == 1 and 1 <= int(text) <= 12:
                return int(text)
            raise BadRequest("invalid time interval: unknown name %r" % text)

        begin, _, end = str(value).partition(":")
        low, high = index(begin), index(end or begin)
        if low > high:
            raise BadRequest("invalid time interval: range %r ends before it starts" % value)
        low_name, high_name = names[low - first], names[high - first]
        return low_name if low == high else "%s:%s" % (low_name, high_name)

    @staticmethod
    def _int_range(value: Any, lowest: int, highest: int) -> str:
        match = re.match(r"^(-?\d+)(?::(-?\d+))?$", str(value).strip())
        if not match:
            raise BadRequest("invalid time interval: bad range %r" % (value,))
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if not (lowest <= low <= highest and lowest <= high <= highest) or low == 0 or high == 0:
            raise BadRequest("invalid time interval: %r is out of range" % (value,))
        return str(low) if low == high else "%d:%d" % (low, high)


def module_args(fake: GrafanaFake, auth: str = "token", **options: Any) -> Dict[str, Any]:
    """Connection arguments for a module under test: the fake's URL, its credentials, no retry delay."""
    args: Dict[str, Any] = {"url": fake.url, "retry_delay": 0.0, "timeout": 5}
    if auth == "token":
        args["api_token"] = fake.token
    elif auth == "basic":
        args.update(url_username=fake.username, url_password=fake.password)
    args.update(options)
    return args


def run_failing(run_module: Callable[..., Any], module: Any, args: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    """Run a module that must fail and return the keyword arguments it gave fail_json.

    The failure is recognised by the class name ``ModuleFail`` (tests/unit/conftest.py)
    instead of importing it: with unit and integration tests in one pytest run, the name
    ``conftest`` can resolve to tests/integration/conftest.py.
    """
    try:
        result = run_module(module, args, **kwargs)
    except Exception as exc:  # only ModuleFail is swallowed, everything else is re-raised
        if type(exc).__name__ == "ModuleFail" and isinstance(getattr(exc, "result", None), dict):
            return exc.result
        raise
    raise AssertionError("the module was expected to fail but returned %r" % (result,))
