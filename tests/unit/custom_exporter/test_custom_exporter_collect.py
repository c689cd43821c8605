"""What one scrape of the custom exporter returns, for working and failing sources."""

from __future__ import annotations

import os
import ssl
import sys
import threading
import time

FIREWALL = {"vpn": {"active_sessions": 42, "up": True, "name": "vpn0"},
            "license": {"days_left": "120.5", "pools": [{"name": "vpn", "used": 17}, {"name": "web", "used": 3}]}}


def up(samples, name):
    return samples[("vigil_custom_source_up", (("source", name),))]


def errors(samples, name, reason):
    return samples.get(("vigil_custom_source_errors_total", (("reason", reason), ("source", name))), 0.0)


def test_http_source_values_selected_by_jmespath(source, route, src, make_config, scrape):
    source.routes["/api/status"] = route(body=FIREWALL)
    config = make_config({"sources": [src.http("fw", source.url("/api/status"), [
        {"name": "fw_vpn_sessions", "help": "VPN sessions", "query": "vpn.active_sessions", "labels": {"site": "hq"}},
        {"name": "fw_vpn_up", "query": "vpn.up"},
        {"name": "fw_license_days_left", "query": "license.days_left"},
        {"name": "fw_pool_used", "query": "license.pools[?name=='vpn'].used | [0]", "labels": {"pool": "vpn"}},
    ])]})
    samples = scrape(config)
    assert samples[("fw_vpn_sessions", (("site", "hq"),))] == 42
    assert samples[("fw_vpn_up", ())] == 1  # true counts as 1
    assert samples[("fw_license_days_left", ())] == 120.5  # numeric strings are accepted
    assert samples[("fw_pool_used", (("pool", "vpn"),))] == 17
    assert up(samples, "fw") == 1
    assert samples[("vigil_custom_source_duration_seconds", (("source", "fw"),))] < 5
    assert abs(samples[("vigil_custom_source_last_success_timestamp_seconds", (("source", "fw"),))] - time.time()) < 60


def test_headers_are_sent_to_the_source(source, route, src, make_config, scrape):
    source.routes["/api/status"] = route(body=FIREWALL)
    config = make_config({"sources": [src.http("fw", source.url("/api/status"), [{"name": "v", "query": "vpn.up"}],
                                               headers={"Authorization": "Bearer s3cret", "X-Tenant": 7})]})
    scrape(config)
    dummy, headers = source.requests[-1]
    assert headers["authorization"] == "Bearer s3cret"
    assert headers["x-tenant"] == "7"
    assert headers["user-agent"].startswith("vigil-custom-exporter/")


def test_down_source_is_up_0_and_other_sources_still_exported(source, route, src, make_config, scrape, free_port):
    source.routes["/api/status"] = route(body=FIREWALL)
    config = make_config({"sources": [
        src.http("down", "http://127.0.0.1:%d/api/status" % free_port(), [{"name": "down_value", "query": "x"}]),
        src.http("fw", source.url("/api/status"), [{"name": "fw_vpn_sessions", "query": "vpn.active_sessions"}]),
    ]})
    samples = scrape(config)
    assert up(samples, "down") == 0
    assert errors(samples, "down", "connection") == 1
    assert not any(name == "down_value" for name, dummy in samples)
    assert up(samples, "fw") == 1
    assert samples[("fw_vpn_sessions", ())] == 42


def test_slow_source_times_out_within_bounded_time(source, route, src, make_config, scrape):
    source.routes["/slow"] = route(body={"v": 1}, delay=10)
    source.routes["/fast"] = route(body={"v": 2})
    config = make_config({"sources": [
        src.http("slow", source.url("/slow"), [{"name": "slow_v", "query": "v"}], timeout=0.5),
        src.http("fast", source.url("/fast"), [{"name": "fast_v", "query": "v"}], timeout=0.5),
    ]})
    started = time.monotonic()
    samples = scrape(config)
    elapsed = time.monotonic() - started
    assert elapsed < 3  # timeout 0.5 s; the handler would answer after 10 s
    assert up(samples, "slow") == 0
    assert errors(samples, "slow", "timeout") == 1
    assert samples[("fast_v", ())] == 2 and up(samples, "fast") == 1


def test_sources_are_collected_concurrently(source, route, src, make_config, scrape):
    for index in range(3):
        source.routes["/s%d" % index] = route(body={"v": index}, delay=0.8)
    config = make_config({"sources": [
        src.http("s%d" % i, source.url("/s%d" % i), [{"name": "s%d_v" % i, "query": "v"}], timeout=3)
        for i in range(3)]})
    started = time.monotonic()
    samples = scrape(config)
    assert time.monotonic() - started < 2.0  # one after the other would take 2.4 s
    assert [samples[("s%d_v" % i, ())] for i in range(3)] == [0, 1, 2]


def test_non_json_and_http_errors_make_the_source_down(source, route, src, make_config, scrape):
    source.routes["/html"] = route(raw=b"<html>maintenance</html>")
    source.routes["/err"] = route(status=500, body={"error": "boom"})
    config = make_config({"sources": [
        src.http("html", source.url("/html"), [{"name": "html_v", "query": "v"}]),
        src.http("err", source.url("/err"), [{"name": "err_v", "query": "error"}]),
    ]})
    samples = scrape(config)
    assert up(samples, "html") == 0 and errors(samples, "html", "invalid_json") == 1
    assert up(samples, "err") == 0 and errors(samples, "err", "http_status") == 1


def test_redirects_are_not_followed_with_the_configured_headers(source, route, src, make_config, scrape, caplog):
    source.routes["/api/status"] = route(body=FIREWALL)
    source.routes["/old"] = route(status=302, raw=b"", headers={"Location": source.url("/api/status")})
    config = make_config({"sources": [src.http("moved", source.url("/old"), [{"name": "v", "query": "vpn.up"}],
                                               headers={"Authorization": "Bearer s3cret"})]})
    samples = scrape(config)
    assert up(samples, "moved") == 0 and errors(samples, "moved", "http_status") == 1
    assert source.count("/api/status") == 0
    assert "HTTP status 302" in caplog.text and "set url to %s" % source.url("/api/status") in caplog.text


def test_non_numeric_or_missing_value_skips_that_metric_and_counts(source, route, src, make_config, exporter_of,
                                                                   scrape):
    source.routes["/api/status"] = route(body=FIREWALL)
    config = make_config({"sources": [src.http("fw", source.url("/api/status"), [
        {"name": "fw_name", "query": "vpn.name"},
        {"name": "fw_missing", "query": "vpn.nope"},
        {"name": "fw_list", "query": "license.pools[*].used"},
        {"name": "fw_bad_function", "query": "abs(vpn.name)"},
        {"name": "fw_vpn_sessions", "query": "vpn.active_sessions"},
    ])]})
    exporter = exporter_of(config)
    scrape(exporter)
    samples = scrape(exporter)
    assert up(samples, "fw") == 1
    assert samples[("fw_vpn_sessions", ())] == 42
    for skipped in ("fw_name", "fw_missing", "fw_list", "fw_bad_function"):
        assert (skipped, ()) not in samples
    assert errors(samples, "fw", "not_a_number") == 4  # vpn.name and the list, on two scrapes
    assert errors(samples, "fw", "no_value") == 2
    assert errors(samples, "fw", "query_error") == 2


def test_command_source_number_and_json(src, make_config, scrape):
    config = make_config({"sources": [
        src.command("seven", [sys.executable, "-c", "print(7)"], [{"name": "seven"}], parse="number"),
        src.command("json", [sys.executable, "-c", "print('{\"licence\": {\"used\": 12}}')"],
                    [{"name": "licence_used", "query": "licence.used"}]),
    ]})
    samples = scrape(config)
    assert samples[("seven", ())] == 7
    assert samples[("licence_used", ())] == 12
    assert up(samples, "seven") == 1 and up(samples, "json") == 1


def test_failing_commands_are_down_with_a_reason(src, make_config, scrape, tmp_path):
    missing = str(tmp_path / "no-such-program")
    config = make_config({"sources": [
        src.command("exit", [sys.executable, "-c", "import sys; sys.exit(3)"], [{"name": "exit_v"}]),
        src.command("missing", [missing], [{"name": "missing_v"}]),
        src.command("text", [sys.executable, "-c", "print('many')"], [{"name": "text_v"}], parse="number"),
    ]})
    samples = scrape(config)
    assert up(samples, "exit") == 0 and errors(samples, "exit", "exit_status") == 1
    assert up(samples, "missing") == 0 and errors(samples, "missing", "exec_failed") == 1
    assert up(samples, "text") == 0 and errors(samples, "text", "invalid_number") == 1


def test_command_timeout_kills_the_command(src, make_config, scrape, tmp_path, until):
    pid_file = tmp_path / "pid"
    code = "import os, time; open(%r, 'w').write(str(os.getpid())); time.sleep(30)" % str(pid_file)
    config = make_config({"sources": [src.command("sleepy", [sys.executable, "-c", code], [{"name": "v"}],
                                                  timeout=0.5)]})
    started = time.monotonic()
    samples = scrape(config)
    assert time.monotonic() - started < 4  # timeout 0.5 s; the command would sleep 30 s
    assert up(samples, "sleepy") == 0 and errors(samples, "sleepy", "timeout") == 1
    pid = int(until(lambda: pid_file.exists() and pid_file.read_text()))

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    until(gone, timeout=3)


def test_interval_source_is_polled_in_the_background_not_per_scrape(source, route, src, make_config, exporter_of,
                                                                    scrape, until):
    source.routes["/api/status"] = route(body=FIREWALL)
    config = make_config({"sources": [src.http("fw", source.url("/api/status"),
                                               [{"name": "fw_vpn_sessions", "query": "vpn.active_sessions"}],
                                               interval=60)]})
    exporter = exporter_of(config)
    until(lambda: ("fw_vpn_sessions", ()) in scrape(exporter))
    for dummy in range(3):
        samples = scrape(exporter)
    assert samples[("fw_vpn_sessions", ())] == 42 and up(samples, "fw") == 1
    assert source.count("/api/status") == 1


def test_same_metric_from_two_sources_is_one_family(source, route, src, make_config, exporter_of):
    source.routes["/a"] = route(body={"v": 1})
    source.routes["/b"] = route(body={"v": 2})
    metric = {"name": "fw_vpn_sessions", "help": "VPN sessions", "query": "v"}
    config = make_config({"sources": [
        src.http("a", source.url("/a"), [dict(metric, labels={"site": "a"})]),
        src.http("b", source.url("/b"), [dict(metric, labels={"site": "b"})]),
    ]})
    families = [f for f in exporter_of(config).collect() if f.name == "fw_vpn_sessions"]
    assert len(families) == 1
    assert sorted((s.labels["site"], s.value) for s in families[0].samples) == [("a", 1), ("b", 2)]


def test_https_source_with_ca_file_and_without(certs, src, make_config, scrape, fakefw):
    args = fakefw.parse_args(["--port", "0", "--quiet"])
    server = fakefw.FirewallServer(("127.0.0.1", 0), args, [])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.cert_file), str(certs.key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = "https://127.0.0.1:%d/api/status" % server.server_address[1]
        metric = [{"name": "v", "query": "vpn.active_sessions"}]
        config = make_config({"sources": [
            src.http("trusted", url, metric, ca_file=str(certs.ca_file)),
            src.http("untrusted", url, [{"name": "w", "query": "vpn.active_sessions"}], timeout=2),
            src.http("unverified", url, [{"name": "x", "query": "vpn.active_sessions"}], verify_tls=False),
        ]})
        samples = scrape(config)
    finally:
        server.shutdown()
        server.server_close()
    assert up(samples, "trusted") == 1 and samples[("v", ())] == 42
    assert up(samples, "untrusted") == 0 and errors(samples, "untrusted", "tls") == 1
    assert up(samples, "unverified") == 1 and samples[("x", ())] == 42


def test_apply_swaps_sources_and_forgets_removed_ones(source, route, src, make_config, exporter_of, scrape, free_port):
    source.routes["/api/status"] = route(body=FIREWALL)
    first = make_config({"sources": [src.http("old", "http://127.0.0.1:%d/" % free_port(), [{"name": "old_v"}])]},
                        name="first.yml")
    second = make_config({"sources": [src.http("new", source.url("/api/status"),
                                               [{"name": "new_v", "query": "vpn.active_sessions"}])]},
                         name="second.yml")
    exporter = exporter_of(first)
    assert errors(scrape(exporter), "old", "connection") == 1
    exporter.apply(second)
    samples = scrape(exporter)
    assert samples[("new_v", ())] == 42
    assert not any(dict(labels).get("source") == "old" for dummy, labels in samples)


def test_exporter_metrics_are_present(src, make_config, scrape):
    config = make_config({"sources": [src.command("c", [sys.executable, "-c", "print(1)"], [{"name": "c_v"}])]})
    samples = scrape(config)
    assert samples[("vigil_custom_exporter_config_last_reload_successful", ())] == 1
    assert any(name == "vigil_custom_exporter_build_info" for name, dummy in samples)
