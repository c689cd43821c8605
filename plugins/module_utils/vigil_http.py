# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared HTTP client for Vigil's API modules (Grafana, Elasticsearch, Kibana, ...).

Built on ``ansible.module_utils.urls.fetch_url`` so modules need no extra Python
dependency. This file is the one place that decides what the modules trust:

* **Credentials never travel to another origin.** Redirects are not followed by
  urllib; the client follows a redirect itself only when it stays on the origin
  (scheme, host and port) of ``url``, at most ``MAX_REDIRECTS`` times. A redirect to
  another origin is an error that names the location.
* **A 2xx answer must be the JSON the caller expects.** Every call declares
  ``expect``: ``dict`` (a JSON object, the default), ``list`` (a JSON array),
  ``LIST_OF_OBJECTS`` (an array of objects) or ``None`` (the body is not used:
  empty or any JSON). Anything else (an HTML login
  page, ``null``, a list for an object, a body cut short) is an ``UntrustedAnswer``
  naming the endpoint (method and URL, never credentials), the status and the
  content type. Only 204/205 may be empty whatever ``expect`` says.
* **No credentials in a URL.** ``https://user:secret@host`` is refused with a message
  pointing at ``url_username``/``url_password``/``api_token``; the secret is added to
  the module's no-log values first, so it is masked in ``msg`` and ``invocation``.
  ``ApiModule`` does that as soon as the arguments are read, before any validation.
* **Bounded retries**: connection failures, timeouts and 502/503/504 are retried
  ``retries`` times with ``retry_delay`` seconds between attempts (the service may
  still be starting); a certificate that does not verify is not retried. Every other
  status is returned to the caller, which decides.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, unquote, urljoin, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

RETRY_STATUSES = frozenset((502, 503, 504))
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
# Redirects that keep the method and the body (RFC 9110); 301/302/303 are followed for GET/HEAD only.
METHOD_KEEPING_REDIRECTS = frozenset((307, 308))
EMPTY_STATUSES = frozenset((204, 205))
MAX_REDIRECTS = 5
# How much of an unexpected body a message shows.
SHOWN_BODY_CHARS = 160
DEFAULT_PORTS = {"http": 80, "https": 443}
CREDENTIAL_OPTIONS_HINT = "url_username and url_password, or api_token"
# What a caller may expect of a 2xx answer (the ``expect`` argument of ApiClient.request).
EXPECT_OBJECT = dict
EXPECT_LIST = list
LIST_OF_OBJECTS = "list of objects"
EXPECT_NOTHING = None
_EXPECT_NAMES = {
    dict: "a JSON object",
    list: "a JSON list",
    LIST_OF_OBJECTS: "a JSON list of objects",
    None: "JSON or nothing",
}


def matches(value: Any, expect: Any) -> bool:
    """True when a decoded JSON value is of the kind ``expect`` names."""
    if expect is None:
        return True
    if expect == LIST_OF_OBJECTS:
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    return isinstance(value, expect)


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


# --------------------------------------------------------------------------- URLs


def origin_of(url: str) -> Tuple[str, str, int]:
    """(scheme, host, port) of a URL, lower-cased, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme, 0)


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    return origin_of(url) == origin_of(other)


def shown_url(url: str) -> str:
    """A URL fit for a message: no user information, at most 300 characters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unparsable URL)"
    netloc = parts.netloc.rpartition("@")[2]
    text = parts._replace(netloc=netloc).geturl()
    return text if len(text) <= 300 else text[:300] + "..."


def url_secrets(url: Any) -> List[str]:
    """The secrets written in a URL's user information (the password; a lone user name is a token too).

    Both the raw and the percent-decoded forms are returned, so either is masked wherever it appears.
    """
    if not isinstance(url, str) or "@" not in url:
        return []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    if "@" not in parts.netloc:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    user, has_password, password = userinfo.partition(":")
    secret = password if has_password else user
    values = [userinfo, secret, unquote(secret)]
    return sorted({v for v in values if v}, key=len, reverse=True)


def credential_options(spec: Optional[Dict[str, Any]]) -> str:
    """The credential options a module has, for a message ("url_username and url_password or api_token")."""
    spec = spec or {}
    names = []
    if "url_username" in spec:
        names.append("url_username and url_password")
    names.extend(name for name in ("api_token", "api_key") if name in spec)
    return " or ".join(names) or CREDENTIAL_OPTIONS_HINT


def url_credentials_message(option: str = "url", spec: Optional[Dict[str, Any]] = None) -> str:
    return (
        "%s must not contain credentials (user:password@ or token@ before the host): they would be logged with the "
        "URL. Remove them from %s and pass them with the credential options: %s"
        % (option, option, credential_options(spec))
    )


def refuse_url_credentials(module: AnsibleModule, options: Iterable[str] = ("url",)) -> None:
    """fail_json when a URL option carries credentials; the secret is masked in every output first."""
    for option in options:
        secrets = url_secrets(module.params.get(option))
        if secrets:
            module.no_log_values.update(secrets)
            module.fail_json(msg=url_credentials_message(option, getattr(module, "argument_spec", None)))


class ApiModule(AnsibleModule):
    """AnsibleModule for API modules: credentials written in ``url`` are masked and refused.

    The secret is registered as a no-log value as soon as the arguments are read, so even
    an argument error raised by AnsibleModule itself never shows it; then the URL is refused.
    """

    url_options: Tuple[str, ...] = ("url",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        refuse_url_credentials(self, self.url_options)

    def _load_params(self) -> None:
        super()._load_params()
        for option in self.url_options:
            self.no_log_values.update(url_secrets((self.params or {}).get(option)))


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An HTTP answer the caller did not expect.

    ``method`` and ``url`` name the endpoint (the URL never carries credentials),
    ``status`` is the HTTP status (-1 when no answer came), ``body`` the decoded answer
    (JSON, or a short excerpt of anything else), ``content_type`` the answer's type.
    """

    def __init__(self, method: str, url: str, status: int, body: Any, content_type: Optional[str] = None):
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        self.content_type = content_type
        if status < 0:
            super().__init__("%s %s got no answer: %s" % (method, url, body))
        else:
            super().__init__("%s %s returned HTTP %s: %s" % (method, url, status, body))


class UntrustedAnswer(ApiError):
    """An answer Vigil refuses to act on: a redirect to another origin, a 2xx body that is not the
    expected JSON, a body cut short, a certificate that does not verify. ``body`` is the reason."""

    def __init__(self, method: str, url: str, status: int, reason: str, content_type: Optional[str] = None):
        super().__init__(method, url, status, reason, content_type)
        self.reason = reason
        where = "%s %s" % (method, url)
        if status >= 0:
            where += " answered HTTP %s" % status
            if content_type:
                where += " (%s)" % content_type
        self.args = ("%s: %s" % (where, reason),)

    def __str__(self) -> str:
        return self.args[0]


def excerpt(text: str, limit: int = SHOWN_BODY_CHARS) -> str:
    """The start of a body on one line, quoted, for a message."""
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("..." if len(flat) > limit else ""))


def json_kind(value: Any) -> str:
    if value is None:
        return "JSON null"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON list"
    return "a JSON %s" % type(value).__name__.replace("str", "string").replace("bool", "boolean")


def check_body(method: str, url: str, status: int, content_type: Optional[str], raw: bytes, expect: Any) -> Any:
    """Decode a 2xx body and check it is what the caller expects; UntrustedAnswer otherwise."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        if status in EMPTY_STATUSES or expect is None:
            return None
        raise UntrustedAnswer(method, url, status, "the body is empty; expected %s" % _EXPECT_NAMES[expect],
                              content_type or "no Content-Type")
    try:
        value = json.loads(text)
    except ValueError:
        raise UntrustedAnswer(
            method, url, status,
            "the body is not JSON (%d bytes, starting %s); expected %s. Something other than the API "
            "answered (a login page or a proxy?): check url" % (len(raw), excerpt(text), _EXPECT_NAMES[expect]),
            content_type,
        ) from None
    if not matches(value, expect):
        raise UntrustedAnswer(method, url, status, "the body is %s (%s); expected %s" % (
            json_kind(value), excerpt(text, 60), _EXPECT_NAMES[expect]), content_type)
    return value


def decode_error_body(raw: bytes, content_type: Optional[str]) -> Any:
    """An error answer's body: its JSON, or a short excerpt of anything else (an HTML error page)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw or "")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        if len(text) <= SHOWN_BODY_CHARS and "<" not in text:
            return text
        return "%s answer of %d bytes, starting %s" % (content_type or "non-JSON", len(text), excerpt(text))


def is_certificate_failure(msg: str) -> bool:
    text = (msg or "").lower()
    return "certificate_verify_failed" in text or "certificate verify failed" in text


# --------------------------------------------------------------------------- transport


class _TransportFailure(Exception):
    """fetch_url called fail_json (it does for a malformed request); turned into an ApiError."""


class _FetchModule:
    """What fetch_url reads from the module, with Vigil's transport settings.

    fetch_url takes redirect handling and basic auth from ``module.params``; this view
    sets them (redirects never followed by urllib, basic auth sent at once when a user
    is given) without changing the module's own parameters.
    """

    def __init__(self, module: AnsibleModule, basic_auth: bool):
        self._module = module
        self.params = dict(module.params, follow_redirects="none", force_basic_auth=basic_auth)

    @property
    def tmpdir(self) -> str:
        return self._module.tmpdir

    def fail_json(self, msg: str = "", **_kwargs: Any) -> None:
        raise _TransportFailure(msg)


class _Answer:
    def __init__(self, status: int, raw: bytes, content_type: Optional[str], location: Optional[str], msg: str,
                 complete: bool = True):
        self.status = status
        self.raw = raw
        self.content_type = content_type
        self.location = location
        self.msg = msg
        self.complete = complete


class ApiClient:
    """Small JSON client: one base URL, one way to authenticate, bounded retries, nothing trusted."""

    auth_scheme = "Bearer"

    def __init__(self, module, extra_headers: Optional[Dict[str, str]] = None):
        self.module = module
        params = module.params
        refuse_url_credentials(module)
        self.base_url = params["url"].rstrip("/")
        self.timeout = params["timeout"]
        self.retries = max(0, params["retries"])
        self.retry_delay = max(0.0, params["retry_delay"])
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if params.get("api_token"):
            self.headers["Authorization"] = "%s %s" % (self.auth_scheme, params["api_token"])
        # fetch_url reads url_username/url_password from the parameters and sends basic
        # auth; sending it at once avoids a 401 round trip.
        self._transport = _FetchModule(module, basic_auth=bool(params.get("url_username")))
        if extra_headers:
            self.headers.update(extra_headers)
        if params.get("validate_certs") is False:
            module.warn("TLS certificate verification is off for %s" % shown_url(self.base_url))

    # -- one HTTP exchange ----------------------------------------------------------
    def _once(self, method: str, url: str, data: Any, headers: Dict[str, str]) -> _Answer:
        try:
            resp, info = fetch_url(
                self._transport,
                url,
                data=data,
                headers=headers,
                method=method,
                timeout=self.timeout,
                ca_path=self.module.params.get("ca_path"),
                use_netrc=False,
            )
        except _TransportFailure as exc:
            return _Answer(-1, b"", None, None, str(exc))
        status = info.get("status", -1)
        content_type = info.get("content-type")
        raw: Any = b""
        complete = True
        if status >= 300 or resp is None:
            # On an HTTP error fetch_url has already read the answer into info["body"];
            # the response object it returns is then exhausted and reads as empty.
            raw = info.get("body") or b""
        else:
            try:
                raw = resp.read()
            except http.client.IncompleteRead as exc:
                raw, complete = exc.partial, False
            except (OSError, http.client.HTTPException) as exc:
                # The status line came, the body did not (a timeout or a dropped connection).
                return _Answer(-1, b"", content_type, None, "the body did not arrive: %s" % exc)
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8")
        return _Answer(status, raw, content_type, info.get("location"), info.get("msg", ""), complete)

    def _with_retries(self, method: str, url: str, data: Any, headers: Dict[str, str],
                      expected: Tuple[int, ...]) -> Tuple[_Answer, int]:
        attempt = 0
        while True:
            answer = self._once(method, url, data, headers)
            certificate = answer.status < 0 and is_certificate_failure(answer.msg)
            retryable = (answer.status < 0 and not certificate) or answer.status in RETRY_STATUSES
            if not retryable or attempt >= self.retries or answer.status in expected:
                return answer, attempt + 1
            attempt += 1
            time.sleep(self.retry_delay)

    def _redirect_target(self, method: str, url: str, answer: _Answer) -> str:
        """Where a redirect leads, if Vigil may follow it; UntrustedAnswer otherwise."""
        shown = shown_url(url)
        if not answer.location:
            raise UntrustedAnswer(method, shown, answer.status, "a redirect without a Location header",
                                  answer.content_type)
        target = urljoin(url, answer.location.strip())
        if not same_origin(target, self.base_url) or url_secrets(target):
            raise UntrustedAnswer(
                method, shown, answer.status,
                "redirect to another origin refused: %s. Credentials are only ever sent to %s; if the API really "
                "lives there, set url to it" % (shown_url(target), "%s://%s:%d" % origin_of(self.base_url)),
                answer.content_type)
        if answer.status not in METHOD_KEEPING_REDIRECTS and method not in ("GET", "HEAD"):
            raise UntrustedAnswer(
                method, shown, answer.status,
                "the server redirects this %s to %s with a status that would turn it into a GET; set url so that "
                "the API is reached without a redirect" % (method, shown_url(target)), answer.content_type)
        return target

    # -- the API ------------------------------------------------------------------------
    def get_optional(self, path: str, expect: Any = EXPECT_OBJECT) -> Optional[Any]:
        """GET a resource; None only on the documented 404, ApiError on anything else.

        A 200 answer must be JSON of the ``expect`` type (an object by default): a login
        page or ``null`` is an error, never "absent".
        """
        status, body = self.request("GET", path, expected=(200, 404), expect=expect)
        return None if status == 404 else body

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        expected: Iterable[int] = (200,),
        headers: Optional[Dict[str, str]] = None,
        expect: Any = EXPECT_OBJECT,
    ) -> Tuple[int, Any]:
        """Send one request; return (status, decoded body) if status is expected, else raise ApiError.

        ``expect`` says what a 2xx answer must carry: ``dict`` (a JSON object, default),
        ``list`` (a JSON list), ``LIST_OF_OBJECTS`` (a JSON list whose items are all
        objects) or ``None`` (the body is not used: empty or any JSON). A
        2xx answer of another kind, a redirect to another origin, a body cut short or a
        certificate that does not verify raise ``UntrustedAnswer`` (an ApiError).
        Expected non-2xx answers (a 404 meaning "absent") are returned decoded, unchecked.
        ``body`` is sent as JSON, except ``bytes``, which are sent as they are (give the
        ``Content-Type`` in ``headers``).
        """
        if expect not in _EXPECT_NAMES:
            raise ValueError("expect must be dict, list, LIST_OF_OBJECTS or None, got %r" % (expect,))
        url = self.base_url + path
        if isinstance(body, bytes):  # a file sent as it is (a package upload); the caller sets its Content-Type
            data: Any = body
        else:
            data = json.dumps(body, sort_keys=True) if body is not None else None
        all_headers = dict(self.headers)
        if headers:
            all_headers.update(headers)
        expected = tuple(expected)
        for _hop in range(MAX_REDIRECTS + 1):
            answer, attempts = self._with_retries(method, url, data, all_headers, expected)
            if answer.status in REDIRECT_STATUSES and answer.status not in expected:
                url = self._redirect_target(method, url, answer)
                continue
            return self._result(method, url, answer, attempts, expected, expect)
        raise UntrustedAnswer(method, shown_url(url), answer.status,
                              "more than %d redirects; set url to where the API answers" % MAX_REDIRECTS,
                              answer.content_type)

    def _result(self, method: str, url: str, answer: _Answer, attempts: int, expected: Tuple[int, ...],
                expect: Any) -> Tuple[int, Any]:
        shown = shown_url(url)
        status = answer.status
        if status < 0:
            if is_certificate_failure(answer.msg):
                raise UntrustedAnswer(method, shown, status, "the server's TLS certificate does not verify (%s); "
                                      "set ca_path to the CA that signed it" % answer.msg)
            raise ApiError(method, shown, status,
                           "connection failed after %d attempt(s): %s" % (attempts, answer.msg))
        if not answer.complete:
            raise UntrustedAnswer(method, shown, status, "the body was cut short after %d bytes (the connection "
                                  "closed before the announced length); nothing was done with it" % len(answer.raw),
                                  answer.content_type)
        if status not in expected:
            raise ApiError(method, shown, status, decode_error_body(answer.raw, answer.content_type),
                           answer.content_type)
        if 200 <= status < 300:
            return status, check_body(method, shown, status, answer.content_type, answer.raw, expect)
        return status, decode_error_body(answer.raw, answer.content_type)


# --------------------------------------------------------------------------- other HTTP clients


def guard_requests_session(session: Any, base_url: str, expect: Any = EXPECT_OBJECT) -> None:
    """Hold a ``requests.Session`` (the one pycti uses) to the same rules as ApiClient.

    A response hook runs before requests follows a redirect or the caller reads the body:
    a redirect to another origin (or one that would turn a POST into a GET) raises
    UntrustedAnswer before anything is sent there; a same-origin redirect is followed at
    most MAX_REDIRECTS times; a 2xx body must be JSON of the ``expect`` type and complete;
    an error status raises ApiError with a short excerpt of the body.
    """
    session.max_redirects = MAX_REDIRECTS

    def screen(response: Any, *_args: Any, **_kwargs: Any) -> None:
        method = str(getattr(response.request, "method", "") or "GET").upper()
        url = shown_url(response.url)
        status = int(response.status_code)
        content_type = response.headers.get("Content-Type")
        if status in REDIRECT_STATUSES:
            location = response.headers.get("Location") or ""
            target = urljoin(response.url, location.strip())
            if not location or not same_origin(target, base_url) or url_secrets(target):
                raise UntrustedAnswer(
                    method, url, status,
                    "redirect to another origin refused: %s. Credentials are only ever sent to %s; if the API "
                    "really lives there, set url to it" % (
                        shown_url(target) if location else "(no Location)",
                        "%s://%s:%d" % origin_of(base_url)), content_type)
            if status not in METHOD_KEEPING_REDIRECTS and method not in ("GET", "HEAD"):
                raise UntrustedAnswer(
                    method, url, status,
                    "the server redirects this %s to %s with a status that would turn it into a GET; set url so "
                    "that the API is reached without a redirect" % (method, shown_url(target)), content_type)
            return
        try:
            raw = response.content
        except Exception as exc:  # noqa: BLE001 - requests raises several kinds for a body cut short
            raise UntrustedAnswer(method, url, status, "the body was cut short or did not arrive (%s); nothing was "
                                  "done with it" % type(exc).__name__, content_type) from None
        if 200 <= status < 300:
            check_body(method, url, status, content_type, raw or b"", expect)
        elif status >= 400:
            raise ApiError(method, url, status, decode_error_body(raw or b"", content_type), content_type)

    session.hooks.setdefault("response", []).append(screen)
