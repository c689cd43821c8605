# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared HTTP client for Vigil's API modules (Grafana, Elasticsearch, Kibana, ...).

Built on ``ansible.module_utils.urls.fetch_url`` so modules need no extra Python
dependency. Retries are bounded: connection failures and 502/503/504 are retried
``retries`` times with ``retry_delay`` seconds between attempts (the service may
still be starting); every other status is returned to the caller, which decides.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, Optional, Tuple

from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import fetch_url

RETRY_STATUSES = frozenset((502, 503, 504))


def api_argument_spec() -> Dict[str, Dict[str, Any]]:
    """Connection options shared by every API module (see doc fragment vigil.monitoring.api)."""
    return dict(
        url=dict(type="str", required=True),
        url_username=dict(type="str", aliases=["username"]),
        url_password=dict(type="str", no_log=True, aliases=["password"]),
        api_token=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=5),
        retry_delay=dict(type="float", default=3.0),
    )


API_MUTUALLY_EXCLUSIVE = [("api_token", "url_username")]
API_REQUIRED_TOGETHER = [("url_username", "url_password")]


def quote_segment(value: str) -> str:
    """Quote one path segment (a UID or a name) so '/' and spaces cannot escape it."""
    return quote(str(value), safe="")


class ApiError(Exception):
    """An HTTP answer the caller did not expect."""

    def __init__(self, method: str, url: str, status: int, body: Any):
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        super().__init__("%s %s returned HTTP %s: %s" % (method, url, status, body))


class ApiClient:
    """Small JSON client: one base URL, one way to authenticate, bounded retries."""

    auth_scheme = "Bearer"

    def __init__(self, module, extra_headers: Optional[Dict[str, str]] = None):
        self.module = module
        params = module.params
        self.base_url = params["url"].rstrip("/")
        self.timeout = params["timeout"]
        self.retries = max(0, params["retries"])
        self.retry_delay = max(0.0, params["retry_delay"])
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if params.get("api_token"):
            self.headers["Authorization"] = "%s %s" % (self.auth_scheme, params["api_token"])
        elif params.get("url_username"):
            # fetch_url reads url_username/url_password from module.params and sends
            # basic auth; force_basic_auth avoids a 401 round trip.
            module.params["force_basic_auth"] = True
        if extra_headers:
            self.headers.update(extra_headers)
        if params.get("validate_certs") is False:
            module.warn("TLS certificate verification is off for %s" % self.base_url)

    def _once(self, method: str, url: str, data: Optional[str], headers: Dict[str, str]) -> Tuple[int, Any, str]:
        resp, info = fetch_url(
            self.module,
            url,
            data=data,
            headers=headers,
            method=method,
            timeout=self.timeout,
            ca_path=self.module.params.get("ca_path"),
        )
        status = info.get("status", -1)
        raw = b""
        if status >= 400 or resp is None:
            # On an HTTP error fetch_url has already read the answer into info["body"];
            # the response object it returns is then exhausted and reads as empty.
            raw = info.get("body") or b""
        else:
            raw = resp.read()
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw or "")
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        return status, body, info.get("msg", "")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        expected: Iterable[int] = (200,),
        headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, Any]:
        """Send one request; return (status, decoded body) if status is expected, else raise ApiError."""
        url = self.base_url + path
        data = json.dumps(body, sort_keys=True) if body is not None else None
        all_headers = dict(self.headers)
        if headers:
            all_headers.update(headers)
        expected = tuple(expected)
        attempt = 0
        while True:
            status, decoded, msg = self._once(method, url, data, all_headers)
            retryable = status < 0 or status in RETRY_STATUSES
            if not retryable or attempt >= self.retries or status in expected:
                break
            attempt += 1
            time.sleep(self.retry_delay)
        if status in expected:
            return status, decoded
        if status < 0:
            raise ApiError(method, url, status, "connection failed after %d attempt(s): %s" % (attempt + 1, msg))
        raise ApiError(method, url, status, decoded)
