"""A small JSON client for vendor firewall APIs, on urllib, that trusts little.

The same rules as Vigil's Ansible-side client (plugins/module_utils/vigil_http.py), written
again for a service that does not run inside Ansible:

* TLS certificates are verified (the system store or ``ca_file``) unless the operator
  turns it off for that firewall; a certificate that does not verify is never retried.
* Proxy environment variables are ignored; redirects are followed only on the origin
  (scheme, host, port) of the base URL, at most ``MAX_REDIRECTS`` times, and only with a
  status that keeps the method (307/308) for anything but GET. Credentials therefore never
  travel to another host.
* An answer must be JSON of the kind the caller expects, at most ``MAX_BODY`` bytes;
  anything else (a login page, ``null``) is a DriverError naming the method, the path, the
  status and the content type, never the credentials.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urljoin, urlsplit

from vigil_responder.drivers.base import DriverError

MAX_REDIRECTS = 3
MAX_BODY = 1024 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
METHOD_KEEPING = (307, 308)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> Tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 0)


class JsonClient:
    def __init__(self, base_url: str, headers: Dict[str, str], timeout: float, verify_tls: bool = True,
                 ca_file: Optional[str] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout = timeout
        context = ssl.create_default_context(cafile=ca_file)
        if not verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # Only these handlers: no ProxyHandler (environment proxies), no redirect handler
        # (a 3xx comes back as an HTTPError and is judged here).
        self._opener = urllib.request.OpenerDirector()
        for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(context=context),
                        urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
            self._opener.add_handler(handler)

    def request(self, method: str, path: str, body: Any = None, expect: Any = dict) -> Any:
        url = self.base_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        for _hop in range(MAX_REDIRECTS + 1):
            status, content_type, raw, location = self._once(method, url, data)
            if status not in REDIRECTS:
                return self._decode(method, path, status, content_type, raw, expect)
            url = self._follow(method, path, status, url, location)
        raise DriverError("%s %s: more than %d redirects" % (method, path, MAX_REDIRECTS))

    def _once(self, method: str, url: str, data: Optional[bytes]) -> Tuple[int, str, bytes, Optional[str]]:
        headers = dict(self.headers, Accept="application/json")
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            with err:
                raw = err.read(MAX_BODY + 1)
                return err.code, err.headers.get("Content-Type", ""), raw, err.headers.get("Location")
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise DriverError("%s %s: the certificate does not verify: %s" % (
                    method, urlsplit(url).path, reason.verify_message or reason)) from None
            raise DriverError("%s %s: cannot connect: %s" % (method, urlsplit(url).path, reason)) from None
        except (socket.timeout, TimeoutError):
            raise DriverError("%s %s: no answer within %ss" % (method, urlsplit(url).path, self.timeout)) from None
        except (OSError, ValueError) as exc:
            raise DriverError("%s %s: %s" % (method, urlsplit(url).path, exc)) from None
        with response:
            try:
                raw = response.read(MAX_BODY + 1)
            except (OSError, ValueError) as exc:
                raise DriverError("%s %s: the body did not arrive: %s" % (method, urlsplit(url).path, exc)) from None
            return response.status, response.headers.get("Content-Type", ""), raw, None

    def _follow(self, method: str, path: str, status: int, url: str, location: Optional[str]) -> str:
        if not location:
            raise DriverError("%s %s: HTTP %d redirect without a Location" % (method, path, status))
        target = urljoin(url, location.strip())
        if origin(target) != origin(self.base_url) or "@" in urlsplit(target).netloc:
            scheme, host, port = origin(target)
            raise DriverError("%s %s: HTTP %d redirect to another origin refused (%s://%s:%d); credentials are only "
                              "sent to %s://%s:%d" % ((method, path, status, scheme, host, port) + origin(self.base_url)))
        if method != "GET" and status not in METHOD_KEEPING:
            raise DriverError("%s %s: HTTP %d would turn the %s into a GET; set url so that the API answers without "
                              "a redirect" % (method, path, status, method))
        return target

    @staticmethod
    def _decode(method: str, path: str, status: int, content_type: str, raw: bytes, expect: Any) -> Any:
        where = "%s %s answered HTTP %d (%s)" % (method, path, status, content_type or "no Content-Type")
        if len(raw) > MAX_BODY:
            raise DriverError("%s: the body is larger than %d bytes" % (where, MAX_BODY))
        text = raw.decode("utf-8", errors="replace")
        try:
            value = json.loads(text) if text.strip() else None
        except ValueError:
            value = None
            if not 200 <= status < 300:
                raise DriverError("%s: %s" % (where, " ".join(text.split())[:160] or "empty body")) from None
            raise DriverError("%s: the body is not JSON (a login page or a proxy?)" % where) from None
        if not 200 <= status < 300:
            raise DriverError("%s: %s" % (where, json.dumps(value)[:300]))
        if not isinstance(value, expect):
            kinds = expect if isinstance(expect, tuple) else (expect,)
            wanted = " or ".join("object" if kind is dict else "list" for kind in kinds)
            got = "null" if value is None else {dict: "object", list: "list"}.get(type(value), type(value).__name__)
            raise DriverError("%s: expected a JSON %s, got %s" % (where, wanted, got))
        return value
