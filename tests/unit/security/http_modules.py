"""Which modules talk HTTP, and the smallest arguments that make each one read and write.

Discovery reads the sources (``ast``): a module talks HTTP when it imports, directly or
through the collection's ``module_utils``, ``vigil_http`` or an HTTP library (``pycti``,
``requests``, ``ansible.module_utils.urls``, ``urllib.request``, ``http.client``). A new
module is therefore in the hostile-server matrix the day it is written; the matrix fails,
naming it, until ``CASES`` below gives it arguments.
"""

from __future__ import annotations

import ast
import base64
import importlib
import os
from typing import Any, Callable, Dict, List, Optional, Set

from ansible.module_utils import basic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
UTILS_DIR = os.path.join(ROOT, "plugins", "module_utils")
COLLECTION = "ansible_collections.vigil.monitoring."
UTILS_PREFIX = COLLECTION + "plugins.module_utils."
HTTP_LIBRARIES = ("pycti", "requests", "ansible.module_utils.urls", "urllib.request", "http.client", "httpx",
                  "urllib3")

# Credentials the matrix sends. None of them may appear in any output or at any other origin.
BEARER_TOKEN = "vigil-matrix-bearer-Q7zX2mK9"
API_KEY_ID = "vigil-matrix-key"
API_KEY_SECRET = "vigil-matrix-apikey-R4nD0m5e"
BASIC_USER = "vigil-matrix-user"
BASIC_PASSWORD = "vigil-matrix-basic-Pa55w0rd"
URL_PASSWORD = "vigil-matrix-in-url-S3cr3t"
SECRETS = (
    BEARER_TOKEN,
    API_KEY_SECRET,
    base64.b64encode(("%s:%s" % (API_KEY_ID, API_KEY_SECRET)).encode()).decode(),
    BASIC_PASSWORD,
    base64.b64encode(("%s:%s" % (BASIC_USER, BASIC_PASSWORD)).encode()).decode(),
    URL_PASSWORD,
)


def _imports(path: str) -> Set[str]:
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update("%s.%s" % (node.module, alias.name) for alias in node.names)
    return names


def _talks_http(names: Set[str], seen: Set[str]) -> bool:
    for name in names:
        if any(name == lib or name.startswith(lib + ".") for lib in HTTP_LIBRARIES):
            return True
        if name.startswith(UTILS_PREFIX):
            util = name[len(UTILS_PREFIX):].split(".")[0]
            if util == "vigil_http":
                return True
            path = os.path.join(UTILS_DIR, util + ".py")
            if util not in seen and os.path.isfile(path):
                seen.add(util)
                if _talks_http(_imports(path), seen):
                    return True
    return False


def http_modules() -> List[str]:
    """Names of the modules in plugins/modules that talk HTTP."""
    found = []
    for filename in sorted(os.listdir(MODULES_DIR)):
        if filename.endswith(".py") and not filename.startswith("_"):
            if _talks_http(_imports(os.path.join(MODULES_DIR, filename)), set()):
                found.append(filename[:-3])
    return found


def load(name: str) -> Any:
    return importlib.import_module(COLLECTION + "plugins.modules." + name)


class _SpecSeen(Exception):
    def __init__(self, spec: Dict[str, Any]):
        super().__init__("argument spec captured")
        self.spec = spec


def argument_spec(name: str) -> Dict[str, Any]:
    """The module's real argument spec, captured when its main() builds the AnsibleModule."""
    original = basic.AnsibleModule.__init__

    def capture(self, argument_spec, *args, **kwargs):  # noqa: ANN001 - AnsibleModule's signature
        raise _SpecSeen(argument_spec)

    basic.AnsibleModule.__init__ = capture
    try:
        load(name).main()
    except _SpecSeen as seen:
        return seen.spec
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError("%s.main() did not build an AnsibleModule" % name)


def auth_kinds(spec: Dict[str, Any]) -> List[str]:
    """The credential kinds a module accepts, from its argument spec."""
    kinds = []
    if "api_token" in spec:
        kinds.append("Bearer")
    if "api_key" in spec:
        kinds.append("ApiKey")
    if "url_username" in spec:
        kinds.append("Basic")
    return kinds


def auth_args(kind: str) -> Dict[str, Any]:
    return {
        "Bearer": {"api_token": BEARER_TOKEN},
        "ApiKey": {"api_key": "%s:%s" % (API_KEY_ID, API_KEY_SECRET)},
        "Basic": {"url_username": BASIC_USER, "url_password": BASIC_PASSWORD},
    }[kind]


# ----------------------------------------------------------------------------------- fakes


def _elasticsearch() -> Any:
    from standins.elastic import FakeElasticsearch

    return FakeElasticsearch()


def _with_path_repo(fake: Any) -> None:
    fake.path_repo = ["/srv/snapshots"]


def _with_repository(fake: Any) -> None:
    fake.path_repo = ["/srv/snapshots"]
    fake.repositories["vigil-matrix"] = {"type": "fs", "uuid": "_na_", "settings": {"location": "/srv/snapshots/m"}}


def _elasticsearch_secured() -> Any:
    """An Elasticsearch fake with security on, where the matrix's credentials are a superuser's
    (the security modules call _security/ endpoints, which exist only with security on)."""
    from standins.elastic import FakeElasticsearch

    fake = FakeElasticsearch(elastic_password="vigil-matrix-elastic-0000")
    realm = fake.security
    realm.users[BASIC_USER] = {"username": BASIC_USER, "roles": ["superuser"], "full_name": None, "email": None,
                               "metadata": {}, "enabled": True, "password": BASIC_PASSWORD}
    realm.api_keys[API_KEY_ID] = {
        "id": API_KEY_ID, "name": "vigil-matrix", "type": "rest", "creation": realm.now_ms, "invalidated": False,
        "username": BASIC_USER, "realm": "default_native", "realm_type": "native", "metadata": {},
        "role_descriptors": {}, "limited_by": realm.role_descriptors(["superuser"]), "secret": API_KEY_SECRET,
    }
    realm.bearer_tokens[BEARER_TOKEN] = BASIC_USER
    return fake


def _kibana() -> Any:
    from standins.elastic import FakeKibana

    return FakeKibana()


def _grafana() -> Any:
    from standins.grafana import GrafanaFake

    return GrafanaFake(token=BEARER_TOKEN, username=BASIC_USER, password=BASIC_PASSWORD)


def _opencti() -> Any:
    from standins.opencti import OpenCTIFake

    return OpenCTIFake(token=BEARER_TOKEN)


class _Req:
    query: Dict[str, Any] = {}


def _with_agent_policy(fake: Any) -> None:
    fake.create_agent_policy(_Req(), "default", {"id": "vigil-matrix-policy", "name": "matrix", "namespace": "lab"})


class Case:
    """How to run one module: its fake, its own arguments (connection and credentials are added)."""

    def __init__(self, fake: Callable[[], Any], args: Dict[str, Any], seed: Optional[Callable[[Any], None]] = None):
        self.fake = fake
        self.args = args
        self.seed = seed

    def new_fake(self) -> Any:
        fake = self.fake()
        if self.seed:
            self.seed(fake)
        return fake


MATH = [{"refId": "A", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "1 == 1", "refId": "A"}}]
KIBANA_ID = "0d7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e99"

# The smallest arguments with which each module reads, finds nothing and writes (state=present).
CASES: Dict[str, Case] = {
    "elasticsearch_ilm_policy": Case(_elasticsearch, {
        "name": "vigil-matrix", "policy": {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}}}),
    "elasticsearch_index_template": Case(_elasticsearch, {
        "name": "vigil-matrix", "body": {"index_patterns": ["vigil-matrix-*"], "priority": 100}}),
    "elasticsearch_component_template": Case(_elasticsearch, {
        "name": "vigil-matrix@custom", "body": {"template": {"settings": {"index.lifecycle.name": "vigil-matrix"}}}}),
    "elasticsearch_snapshot_repository": Case(_elasticsearch, {
        "name": "vigil-matrix", "type": "fs", "settings": {"location": "/srv/snapshots/m"}}, seed=_with_path_repo),
    "elasticsearch_slm_policy": Case(_elasticsearch, {
        "name": "vigil-matrix", "policy": {"name": "<m-{now/d}>", "schedule": "0 30 1 * * ?", "repository": "vigil-matrix"}},
        seed=_with_repository),
    "elasticsearch_ingest_pipeline": Case(_elasticsearch, {
        "name": "vigil-matrix", "body": {"processors": [{"set": {"field": "event.kind", "value": "event"}}]}}),
    "elasticsearch_role": Case(_elasticsearch_secured, {
        "name": "vigil_matrix", "cluster": ["monitor"]}),
    "elasticsearch_user": Case(_elasticsearch_secured, {
        "name": "vigil_matrix", "user_password": "vigil-matrix-user-password-0", "roles": ["vigil_matrix"]}),
    "elasticsearch_api_key": Case(_elasticsearch_secured, {
        # No descriptor: Elasticsearch lets a key authenticated by an API key mint only such keys.
        "name": "vigil-matrix-key-minted", "role_descriptors": {}}),
    "kibana_connector": Case(_kibana, {"id": KIBANA_ID, "name": "matrix log", "connector_type_id": ".server-log"}),
    "kibana_fleet_agent_policy": Case(_kibana, {"name": "vigil matrix", "namespace": "lab"}),
    "kibana_fleet_enrollment_token": Case(_kibana, {"policy_id": "vigil-matrix-policy", "name": "vigil-matrix"},
                                          seed=_with_agent_policy),
    "kibana_fleet_output": Case(_kibana, {"id": "vigil-matrix-output", "name": "matrix", "type": "elasticsearch",
                                          "hosts": ["https://es.example.org:9200"]}),
    "kibana_fleet_package": Case(_kibana, {"name": "fortinet_fortigate", "version": "1.25.6"}),
    "kibana_rule": Case(_kibana, {
        "id": KIBANA_ID, "rule_type_id": ".es-query", "name": "matrix rule", "interval": "1m",
        "params": {"searchType": "esQuery", "index": ["logs-*"], "timeField": "@timestamp",
                   "esQuery": '{"query": {"match_all": {}}}', "size": 1, "threshold": [1],
                   "thresholdComparator": ">", "timeWindowSize": 5, "timeWindowUnit": "m"}}),
    "grafana_alert_rule": Case(_grafana, {
        "uid": "vigil-matrix", "title": "Matrix", "folder_uid": "vigil-alerts", "rule_group": "matrix",
        "condition": "A", "data": MATH}),
    "grafana_contact_point": Case(_grafana, {
        "uid": "vigil-matrix", "name": "matrix", "type": "webhook", "settings": {"url": "https://hook.example.org/"}}),
    "grafana_mute_timing": Case(_grafana, {
        "name": "vigil-matrix", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}),
    "grafana_notification_policy": Case(_grafana, {
        "tree": {"receiver": "grafana-default-email", "group_by": ["alertname"]}}),
    "grafana_rule_group": Case(_grafana, {
        "folder_uid": "vigil-alerts", "name": "matrix", "interval": "60s",
        "rules": [{"uid": "vigil-matrix", "title": "Matrix", "condition": "A", "data": MATH}]}),
    "opencti_indicator_import": Case(_opencti, {
        "content": "type,value,score\nip,203.0.113.99,80\n"}),
    "opencti_live_stream": Case(_opencti, {"name": "vigil-matrix"}),
    "opencti_rss_feed": Case(_opencti, {"name": "vigil-matrix", "uri": "https://feeds.example.org/matrix.xml"}),
}
