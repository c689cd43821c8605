# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One routing brain: Grafana hands every Grafana-managed alert to the Alertmanager cluster.

grafana_alertmanager_routing(urls, name='Vigil Alertmanager', uid='vigil-alertmanager',
                             basic_auth_user='', basic_auth_password='', org_id=1)
  urls: the Alertmanager members (http(s)://host:9093), or one load balancer URL.
  returns {contact_point, policy, provisioning}:
    contact_point  a contact point of type ``prometheus-alertmanager`` (Grafana's
                   provisioning API form) posting to every member;
    policy         the root notification policy sending everything to it, one alert per
                   group (``group_by: ['...']``) and re-sent every minute, so that the
                   cluster groups, routes, inhibits and keeps the alerts open as it does
                   Prometheus' (Grafana's default email contact point gets nothing);
    provisioning   the same as an alerting file-provisioning document (apiVersion 1,
                   contactPoints and policies) for /etc/grafana/provisioning/alerting.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError

URL_RE = re.compile(r"^https?://[^\s,/]+(/[^\s,]*)?$")
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Grafana only forwards; Alertmanager groups. Re-sent every minute: Grafana's alerts carry
# an endsAt a few evaluation intervals ahead, like Prometheus', and must be refreshed.
POLICY_TIMING = {"group_wait": "0s", "group_interval": "30s", "repeat_interval": "1m"}


def grafana_alertmanager_routing(
    urls: Any,
    name: str = "Vigil Alertmanager",
    uid: str = "vigil-alertmanager",
    basic_auth_user: str = "",
    basic_auth_password: str = "",
    org_id: int = 1,
) -> Dict[str, Any]:
    """Contact point and root policy sending every Grafana-managed alert to the Alertmanager cluster."""
    if isinstance(urls, str) or not isinstance(urls, (list, tuple)) or not urls:
        raise AnsibleFilterError(
            "grafana_alertmanager_routing: no Alertmanager URL; put the Alertmanager hosts in the group "
            "grafana_alertmanager_group or set grafana_alertmanager_url"
        )
    bad = [u for u in urls if not isinstance(u, str) or not URL_RE.match(u)]
    if bad:
        raise AnsibleFilterError(
            "grafana_alertmanager_routing: %s is not an http(s)://host:port URL" % ", ".join(repr(b) for b in bad)
        )
    if not isinstance(uid, str) or not UID_RE.match(uid):
        raise AnsibleFilterError("grafana_alertmanager_routing: uid %r must be 1-40 letters, digits, - or _" % (uid,))
    if not name or not isinstance(name, str):
        raise AnsibleFilterError("grafana_alertmanager_routing: name is empty")
    if bool(basic_auth_user) != bool(basic_auth_password):
        raise AnsibleFilterError(
            "grafana_alertmanager_routing: give both basic_auth_user and basic_auth_password, or neither"
        )
    settings: Dict[str, Any] = {"url": ",".join(str(u).rstrip("/") for u in urls)}
    if basic_auth_user:
        settings["basicAuthUser"] = str(basic_auth_user)
        settings["basicAuthPassword"] = str(basic_auth_password)
    contact_point = {
        "uid": uid,
        "name": name,
        "type": "prometheus-alertmanager",
        "settings": settings,
        "disableResolveMessage": False,
    }
    policy: Dict[str, Any] = {"receiver": name, "group_by": ["..."]}
    policy.update(POLICY_TIMING)
    receiver = {k: v for k, v in contact_point.items() if k != "name"}
    provisioning: Dict[str, List[Dict[str, Any]]] = {
        "contactPoints": [{"orgId": org_id, "name": name, "receivers": [receiver]}],
        "policies": [dict({"orgId": org_id}, **policy)],
    }
    return {"contact_point": contact_point, "policy": policy, "provisioning": dict({"apiVersion": 1}, **provisioning)}


class FilterModule:
    def filters(self):
        return {"grafana_alertmanager_routing": grafana_alertmanager_routing}
