"""Vigil's Grafana dashboards (roles/grafana/files/dashboards/<Folder>/*.json).

What a Grafana user would otherwise find out the hard way: a file that does not load, two
dashboards fighting over one uid, a panel pinned to a datasource that does not exist on
their Grafana, a query on a metric no exporter serves ("No data" forever), a query
Prometheus rejects, panels drawn on top of each other.

Metric names are checked against a per-dashboard allowlist, and every allowlisted name
must come from an exporter Vigil deploys (node_exporter, windows_exporter,
blackbox_exporter, snmp_exporter, Vigil's custom exporter, Prometheus/Alertmanager themselves, or the
ALERTS series). The custom exporter's names are cross-checked against its source, the SNMP
exporter's against the modules the snmp_exporter role ships. PromQL
syntax is checked with promtool when it is installed (CI installs it).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD_DIR = ROOT / "roles" / "grafana" / "files" / "dashboards"
# The module of the custom exporter's package that declares its own metric families.
CUSTOM_EXPORTER = ROOT / "services" / "vigil_custom_exporter" / "src" / "vigil_custom_exporter" / "collector.py"
SNMP_MODULES = ROOT / "roles" / "snmp_exporter" / "defaults" / "main.yml"
FILES = sorted(DASHBOARD_DIR.glob("**/*.json"))
VARIABLE = "${datasource}"

# Metric names Vigil's dashboards may use, by the exporter that serves them.
EXPORTER_METRICS: Dict[str, Set[str]] = {
    "node_exporter": {
        "node_boot_time_seconds",
        "node_cpu_seconds_total",
        "node_disk_io_time_seconds_total",
        "node_disk_read_bytes_total",
        "node_disk_written_bytes_total",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_load15",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_network_receive_bytes_total",
        "node_network_receive_errs_total",
        "node_network_transmit_bytes_total",
        "node_network_transmit_errs_total",
    },
    "windows_exporter": {
        "windows_cpu_time_total",
        "windows_cs_physical_memory_bytes",  # up to 0.29 (cs collector)
        "windows_logical_disk_free_bytes",
        "windows_logical_disk_read_bytes_total",
        "windows_logical_disk_size_bytes",
        "windows_logical_disk_write_bytes_total",
        "windows_memory_available_bytes",
        "windows_memory_physical_total_bytes",  # 0.30 and later
        "windows_net_bytes_received_total",
        "windows_net_bytes_sent_total",
        "windows_system_boot_time_timestamp",  # 0.30
        "windows_system_boot_time_timestamp_seconds",  # 0.31 and later
        "windows_system_system_up_time",  # up to 0.29
    },
    "blackbox_exporter": {
        "probe_dns_lookup_time_seconds",
        "probe_duration_seconds",
        "probe_http_duration_seconds",
        "probe_http_status_code",
        "probe_icmp_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "probe_success",
    },
    # Names from the modules the snmp_exporter role ships (checked below) and its uplink marker.
    "snmp_exporter": {
        "hrProcessorLoad",
        "hrStorageSize",
        "hrStorageUsed",
        "ifAdminStatus",
        "ifHCInOctets",
        "ifHCOutOctets",
        "ifHighSpeed",
        "ifInDiscards",
        "ifInErrors",
        "ifOperStatus",
        "ifOutDiscards",
        "ifOutErrors",
        "sysUpTime",
        "vigil_snmp_uplink_info",
    },
    "custom_exporter": {
        "vigil_custom_exporter_config_last_reload_successful",
        "vigil_custom_source_duration_seconds",
        "vigil_custom_source_errors_total",
        "vigil_custom_source_last_success_timestamp_seconds",
        "vigil_custom_source_up",
    },
    "prometheus": {
        "ALERTS",
        "prometheus_notifications_dropped_total",
        "prometheus_notifications_errors_total",
        "up",
    },
    "alertmanager": {
        "alertmanager_cluster_members",
        "alertmanager_notifications_failed_total",
        "alertmanager_notifications_total",
    },
}
KNOWN_METRICS = set().union(*EXPORTER_METRICS.values())

# What each dashboard may query: a name that leaves a dashboard must leave here too.
ALLOWLIST: Dict[str, Set[str]] = {
    "vigil-host-overview": EXPORTER_METRICS["node_exporter"] | EXPORTER_METRICS["windows_exporter"] | {"up"},
    "vigil-blackbox-probes": EXPORTER_METRICS["blackbox_exporter"],
    "vigil-business-metrics": EXPORTER_METRICS["custom_exporter"],
    "vigil-alert-overview": EXPORTER_METRICS["alertmanager"]
    | {"ALERTS", "prometheus_notifications_dropped_total", "prometheus_notifications_errors_total"},
    "vigil-ecs-logs": set(),
    "vigil-network-devices": EXPORTER_METRICS["snmp_exporter"] | {"up"},
}
# Scrape jobs the queries may select (Vigil's Prometheus job names).
JOBS = {"node", "windows", "blackbox", "custom", "prometheus", "alertmanager", "snmp"}
# ECS fields the logs dashboard may use.
ECS_FIELDS = {"@timestamp", "data_stream.dataset", "log.level", "source.ip", "host.name", "event.action",
              "event.category", "event.outcome", "message"}

PROMQL_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "day_of_month", "day_of_week", "delta", "deriv", "exp", "floor", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln",
    "log2", "log10", "max_over_time", "min_over_time", "minute", "month", "predict_linear", "quantile_over_time",
    "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time", "sum_over_time",
    "time", "timestamp", "vector", "year",
    # aggregations
    "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev", "stdvar", "sum", "topk",
}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                   "group_right", "inf", "nan"}


# --------------------------------------------------------------------------- helpers
def load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def dashboard_id(path: Path) -> str:
    return str(path.relative_to(DASHBOARD_DIR))


def panels(dashboard: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def walk(node: Any, path: str = "") -> Iterator[Tuple[str, str, Any]]:
    """(path, key, value) for every key of every mapping in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, "%s/%s" % (path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, "%s[%d]" % (path, index))


def datasource_kind(dashboard: Dict[str, Any]) -> str:
    variables = [v for v in dashboard.get("templating", {}).get("list", []) if v.get("name") == "datasource"]
    return variables[0]["query"] if variables else ""


def prometheus_queries(dashboard: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable's selector."""
    if datasource_kind(dashboard) != "prometheus":
        return []
    out = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                out.append(("panel %r target %s" % (panel.get("title"), target.get("refId")), target["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var["query"]["query"] if isinstance(var.get("query"), dict) else var.get("query", "")
        match = re.match(r"^\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*$", query, re.S)
        assert match, "variable %s: expected label_values(<selector>, <label>), got %r" % (var["name"], query)
        out.append(("variable %s" % var["name"], match.group(1)))
    return out


def metric_names(expr: str) -> Set[str]:
    """Metric names a PromQL expression selects (Grafana variables and label matchers removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values, regexes
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors and subqueries
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call:
            assert word in PROMQL_FUNCTIONS, "unknown PromQL function %s() in %r" % (word, expr)
        elif word.lower() not in PROMQL_KEYWORDS:
            names.add(word)
    return names


def jobs(expr: str) -> Set[str]:
    return set(re.findall(r'\bjob\s*=~?\s*"([^"]+)"', expr))


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's variables the way Grafana would, with harmless values."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{[^}]*\}|\$\w+", ".*", expr)


# --------------------------------------------------------------------------- tests
def test_there_are_dashboards_in_folders():
    assert FILES, "no dashboards under %s" % DASHBOARD_DIR
    for path in FILES:
        # foldersFromFilesStructure: <Folder>/<dashboard>.json, the folder becomes the Grafana folder
        assert len(path.relative_to(DASHBOARD_DIR).parts) == 2, "%s is not in exactly one folder" % path


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_dashboard_is_provisionable_json(path):
    dashboard = load(path)
    assert re.match(r"^[A-Za-z0-9_-]{1,40}$", dashboard.get("uid", "")), "uid must be 1-40 letters, digits, - or _"
    assert dashboard.get("title"), "title is missing"
    assert dashboard.get("schemaVersion", 0) >= 39, "schemaVersion %s < 39" % dashboard.get("schemaVersion")
    assert dashboard.get("id") is None, "a fixed id clashes with Grafana's own; leave it out"
    assert "__inputs" not in dashboard and "__requires" not in dashboard, "exported 'for sharing': re-export without"
    assert isinstance(dashboard.get("panels"), list) and dashboard["panels"], "no panels"
    assert "vigil" in dashboard.get("tags", []), "Vigil's dashboards carry the tag vigil (the dashboard links use it)"


def test_uids_and_titles_are_unique():
    uids = [load(p)["uid"] for p in FILES]
    titles = [load(p)["title"] for p in FILES]
    assert len(uids) == len(set(uids)), "duplicate uids: %s" % sorted(u for u in uids if uids.count(u) > 1)
    assert len(titles) == len(set(titles)), "duplicate titles: %s" % sorted(t for t in titles if titles.count(t) > 1)


def test_every_dashboard_has_an_allowlist():
    assert sorted(load(p)["uid"] for p in FILES) == sorted(ALLOWLIST)


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_datasource_variable(path):
    dashboard = load(path)
    variables = [v for v in dashboard["templating"]["list"] if v.get("name") == "datasource"]
    assert len(variables) == 1, "exactly one template variable named datasource"
    var = variables[0]
    assert var["type"] == "datasource"
    assert var["query"] in ("prometheus", "elasticsearch")
    assert not var.get("current"), "no preselected datasource: Grafana picks the default one of the right type"
    if ALLOWLIST[dashboard["uid"]]:
        assert var["query"] == "prometheus"


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_every_panel_and_query_uses_the_datasource_variable(path):
    dashboard = load(path)
    kind = datasource_kind(dashboard)
    wanted = {"type": kind, "uid": VARIABLE}
    for panel in panels(dashboard):
        if panel["type"] == "row":
            assert not panel.get("targets"), "row %r has queries" % panel.get("title")
            continue
        title = panel.get("title")
        assert panel.get("datasource") == wanted, "panel %r: datasource %r" % (title, panel.get("datasource"))
        assert panel.get("targets"), "panel %r has no query" % panel.get("title")
        for target in panel["targets"]:
            assert target.get("datasource", wanted) == wanted, "panel %r target %s" % (panel["title"], target["refId"])
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            assert var.get("datasource") == wanted, "variable %s" % var["name"]


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_no_datasource_is_hard_coded(path):
    for where, key, value in walk(load(path)):
        if key == "datasource":
            uid = value.get("uid") if isinstance(value, dict) else value
            assert uid == VARIABLE, "%s/datasource is %r, not the ${datasource} variable" % (where, value)
        assert key != "datasourceUid", "%s pins a datasource uid" % where


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_promql_uses_only_metrics_the_exporters_serve(path):
    dashboard = load(path)
    allowed = ALLOWLIST[dashboard["uid"]]
    assert allowed <= KNOWN_METRICS, "allowlist names no exporter serves: %s" % sorted(allowed - KNOWN_METRICS)
    used: Set[str] = set()
    for where, expr in prometheus_queries(dashboard):
        names = metric_names(expr)
        extra = sorted(names - allowed)
        assert not extra, "%s uses %s, not in the allowlist of %s" % (where, extra, dashboard["uid"])
        assert jobs(expr) <= JOBS, "%s selects unknown job(s) %s" % (where, sorted(jobs(expr) - JOBS))
        used |= names
    assert used == allowed, "allowlist entries no query uses (remove them): %s" % sorted(allowed - used)


def test_metric_name_extraction():
    cpu = '1 - avg by (instance) (rate(node_cpu_seconds_total{job="node", mode="idle"}[$__rate_interval]))'
    assert metric_names(cpu) == {"node_cpu_seconds_total"}
    assert metric_names('count(up{job="node"} == 0) or vector(0)') == {"up"}
    assert metric_names('node_load15 / on (instance) count by (instance) (node_cpu_seconds_total{mode="idle"})') == {
        "node_load15", "node_cpu_seconds_total"}
    assert metric_names('{job="custom", __name__="$metric"}') == set()
    assert metric_names("(probe_ssl_earliest_cert_expiry - time()) / 86400 > 1e3") == {"probe_ssl_earliest_cert_expiry"}
    with pytest.raises(AssertionError):
        metric_names("not_a_function(up)")


def test_custom_exporter_serves_the_custom_metrics():
    if not CUSTOM_EXPORTER.exists():
        pytest.skip("custom exporter source not in this checkout")
    source = CUSTOM_EXPORTER.read_text(encoding="utf-8")
    for name in sorted(EXPORTER_METRICS["custom_exporter"]):
        family = name[: -len("_total")] if name.endswith("_total") else name  # counters are declared without _total
        assert '"%s"' % family in source, "%s is not declared by %s" % (family, CUSTOM_EXPORTER.name)


def test_snmp_exporter_serves_the_snmp_metrics():
    from ansible_collections.vigil.monitoring.plugins.filter.snmp_exporter import UPLINK_METRIC

    modules = yaml.safe_load(SNMP_MODULES.read_text(encoding="utf-8"))["snmp_exporter_default_modules"]
    shipped = {metric["name"] for module in modules.values() for metric in module["metrics"]} | {UPLINK_METRIC}
    missing = sorted(EXPORTER_METRICS["snmp_exporter"] - shipped)
    assert not missing, "no module of the snmp_exporter role serves %s" % missing


def test_promql_is_valid_for_promtool(tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed: apt-get install prometheus")
    rules = []
    for path in FILES:
        dashboard = load(path)
        for index, (where, expr) in enumerate(prometheus_queries(dashboard)):
            if where.startswith("variable"):
                expr = "count(%s)" % expr  # a bare selector without a name is not a valid rule on its own
            record = "vigil:%s:%d" % (dashboard["uid"].replace("-", "_"), index)
            rules.append({"record": record, "expr": grafana_to_promql(expr)})
    assert rules
    rule_file = tmp_path / "dashboards.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_panels_do_not_overlap(path):
    dashboard = load(path)
    boxes = []
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["w"] >= 1 and pos["h"] >= 1 and pos["x"] >= 0 and pos["y"] >= 0, panel.get("title")
        assert pos["x"] + pos["w"] <= 24, "panel %r is wider than the 24-column grid" % panel.get("title")
        if panel["type"] == "row":
            assert pos["w"] == 24 and pos["h"] == 1 and pos["x"] == 0, "row %r" % panel.get("title")
        boxes.append((panel.get("title"), pos))
    for (title_a, a), (title_b, b) in itertools.combinations(boxes, 2):
        overlap_x = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
        overlap_y = a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
        overlap = overlap_x and overlap_y
        assert not overlap, "panels %r %s and %r %s overlap" % (title_a, a, title_b, b)


@pytest.mark.parametrize("path", FILES, ids=dashboard_id)
def test_panel_ids_are_unique(path):
    ids = [p["id"] for p in panels(load(path))]
    assert len(ids) == len(set(ids)), "duplicate panel ids %s" % sorted(i for i in ids if ids.count(i) > 1)


def test_logs_dashboard_queries_ecs_fields():
    logs = [load(p) for p in FILES if datasource_kind(load(p)) == "elasticsearch"]
    if not logs:
        pytest.skip("no Elasticsearch dashboard")
    fields: Set[str] = set()
    for dashboard in logs:
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                where = "panel %r" % panel["title"]
                assert target.get("timeField") == "@timestamp", "%s: ECS data streams use @timestamp" % where
                fields |= {agg["field"] for agg in target.get("bucketAggs", []) if agg.get("field")}
                query = re.sub(r"\$\{[^}]*\}|\$\w+", "", target.get("query", ""))
                fields |= set(re.findall(r"([a-z_@][a-z0-9_.]*[a-z0-9_]):", query))
    assert fields <= ECS_FIELDS, "fields outside the list: %s" % sorted(fields - ECS_FIELDS)
    try:
        from ansible_collections.vigil.monitoring.plugins.module_utils import ecs_schema
    except ImportError:  # pragma: no cover - the ECS part is another role's
        pytest.skip("ECS schema module not available")
    for name in sorted(fields):
        assert ecs_schema.field_exists(name), "%s is not an ECS field" % name
    assert "authentication" in ecs_schema.allowed_values("event.category")
    assert "failure" in ecs_schema.allowed_values("event.outcome")
