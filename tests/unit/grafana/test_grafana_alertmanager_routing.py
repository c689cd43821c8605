"""Grafana hands every Grafana-managed alert to the Alertmanager cluster: one routing brain.

The filter's contact point and root policy are applied with the project's own modules
(grafana_contact_point, grafana_notification_policy) to the Grafana fake, which follows
Grafana's provisioning API: afterwards the whole tree sends to the Alertmanager contact
point and nothing reaches Grafana's default email contact point. The same data is what the
grafana role writes as file provisioning (checked in the role render test and the lab).
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.grafana_alerting import (
    FilterModule,
    grafana_alertmanager_routing,
)
from ansible_collections.vigil.monitoring.plugins.modules import grafana_contact_point, grafana_notification_policy
from standins.grafana import DEFAULT_TREE, GrafanaFake, module_args

URLS = ["http://vigil-mon1:9093", "http://vigil-mon2:9093", "http://vigil-node1:9093/"]


@pytest.fixture
def grafana():
    fake = GrafanaFake().start()
    yield fake
    fake.stop()


def receivers(tree):
    found = [tree["receiver"]]
    for child in tree.get("routes") or []:
        found += receivers(child)
    return found


def test_contact_point_posts_to_every_member_and_the_root_policy_sends_everything_there():
    routing = grafana_alertmanager_routing(URLS)

    assert routing["contact_point"] == {
        "uid": "vigil-alertmanager",
        "name": "Vigil Alertmanager",
        "type": "prometheus-alertmanager",
        "settings": {"url": "http://vigil-mon1:9093,http://vigil-mon2:9093,http://vigil-node1:9093"},
        "disableResolveMessage": False,
    }
    assert routing["policy"] == {
        "receiver": "Vigil Alertmanager",
        "group_by": ["..."],
        "group_wait": "0s",
        "group_interval": "30s",
        "repeat_interval": "1m",
    }
    doc = routing["provisioning"]
    assert doc["apiVersion"] == 1
    assert doc["contactPoints"][0]["receivers"][0]["type"] == "prometheus-alertmanager"
    assert doc["policies"] == [dict(routing["policy"], orgId=1)]


def test_applied_through_the_modules_nothing_goes_to_the_default_email(run_module, grafana):
    routing = grafana_alertmanager_routing(URLS, basic_auth_user="grafana", basic_auth_password="s3cret")
    cp = routing["contact_point"]
    settings = {k: v for k, v in cp["settings"].items() if k != "basicAuthPassword"}
    assert DEFAULT_TREE["receiver"] in receivers(grafana.org().tree)

    created = run_module(
        grafana_contact_point,
        module_args(grafana, uid=cp["uid"], name=cp["name"], type=cp["type"], settings=settings,
                    secure_settings={"basicAuthPassword": cp["settings"]["basicAuthPassword"]}),
    )  # fmt: skip
    assert created["changed"]
    applied = run_module(grafana_notification_policy, module_args(grafana, tree=routing["policy"]))
    assert applied["changed"]

    tree = grafana.org().tree
    assert receivers(tree) == ["Vigil Alertmanager"]
    assert "grafana-default-email" not in receivers(tree)
    stored = grafana.org().contact_points["vigil-alertmanager"]
    assert stored["type"] == "prometheus-alertmanager"
    assert stored["settings"]["url"].split(",") == [u.rstrip("/") for u in URLS]
    assert stored["settings"]["basicAuthPassword"] == "s3cret"
    # Second run: nothing to change.
    again = run_module(grafana_notification_policy, module_args(grafana, tree=routing["policy"]))
    assert again["changed"] is False


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        ([], {}, "no Alertmanager URL; put the Alertmanager hosts in the group grafana_alertmanager_group"),
        (["vigil-mon1:9093"], {}, "'vigil-mon1:9093' is not an http(s)://host:port URL"),
        (URLS, {"basic_auth_user": "grafana"}, "give both basic_auth_user and basic_auth_password"),
        (URLS, {"uid": "has space"}, "uid 'has space' must be 1-40 letters"),
    ],
)
def test_errors_name_the_setting(args, kwargs, message):
    with pytest.raises(AnsibleFilterError) as info:
        grafana_alertmanager_routing(args, **kwargs)
    assert message in str(info.value)


def test_filter_is_registered():
    assert FilterModule().filters()["grafana_alertmanager_routing"] is grafana_alertmanager_routing
