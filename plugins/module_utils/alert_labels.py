# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels every Vigil alert carries, wherever it comes from (Prometheus, Grafana, Kibana).

Alertmanager routes on ``severity`` and ``team`` and groups on ``alertname``: the alert
catalog reserves these labels, and the Kibana webhook payload must set them.
"""

from __future__ import annotations

import re

ALERT_LABELS = ("alertname", "severity", "team")
SEVERITIES = ("critical", "warning", "info")
# Prometheus' label name rule.
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
