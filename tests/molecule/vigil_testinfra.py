"""What the testinfra tests of Vigil's Molecule scenarios share.

A scenario's tests import it by name::

    from vigil_testinfra import eventually, fetch, prom_samples

Molecule's testinfra verifier runs ``pytest`` on the scenario's ``tests/test_*.py``;
pytest finds the repository's ``pyproject.toml`` above them, takes the repository as
its rootdir and puts this directory on ``sys.path`` (``pythonpath`` there). The file is
not a test module (its name does not start with ``test_``, and ``tests/molecule`` is not
in ``testpaths``) and is not shipped (``tests`` is in ``galaxy.yml``'s ``build_ignore``).

Everything runs on the controller except the scripts that ``fetch`` and ``host_yaml``
hand to ``python3`` on the lab host, so that HTTP traffic stays inside the lab.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from time import monotonic, sleep
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, TypeVar

LAB_CA = "/etc/vigil/tls/ca.crt"
"""The lab CA every scenario's TLS certificates are signed by (``lab/playbooks/lab_tls.yml``)."""

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 60.0, step: float = 3.0) -> T:
    """Call ``check()`` until it returns a true value; return that value.

    ``check`` runs at once, then every ``step`` seconds, and a last time when ``timeout``
    seconds have passed; after that its (false) value is returned, so the caller's
    ``assert eventually(...), message`` fails with its own message. The wait never
    exceeds ``timeout`` plus the time of one call of ``check``.
    """
    deadline = monotonic() + timeout
    while True:
        value = check()
        remaining = deadline - monotonic()
        if value or remaining <= 0:
            return value
        sleep(min(step, remaining))


# Runs on the lab host: one HTTP request, TLS verified with the given CA file (https
# only), optional basic auth. Prints the status code on the first line, then the body.
FETCH = r"""
import base64, json, ssl, sys, urllib.error, urllib.request
url, method, user, password, cafile, timeout, data, headers = sys.argv[1:9]
request = urllib.request.Request(url, data=data.encode() if data else None, method=method, headers=json.loads(headers))
if user:
    request.add_header("Authorization", "Basic " + base64.b64encode((user + ":" + password).encode()).decode())
context = ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
try:
    with urllib.request.urlopen(request, timeout=float(timeout), context=context) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
sys.stdout.write("%d\n%s" % (status, body.decode(errors="replace")))
"""


def fetch(host: Any, url: str, auth: Optional[Tuple[Optional[str], Optional[str]]] = None, *, method: str = "GET",
          data: Optional[str] = None, headers: Optional[Mapping[str, str]] = None,
          cafile: str = LAB_CA, timeout: float = 30.0) -> Tuple[int, str]:
    """One HTTP request made by ``python3`` on the testinfra ``host``; returns (status, body).

    An HTTP error status is returned like any other; a request that gets no answer
    (refused, timed out, a certificate that does not verify against ``cafile``) fails
    the test with the host's traceback. ``auth`` is (user, password) for basic auth;
    None, or an empty user, sends none. ``data`` is sent as the body (with
    ``method="POST"`` and a Content-Type in ``headers``). Trailing newlines of the body
    are dropped.
    """
    user, password = auth if auth and auth[0] else ("", "")
    out = host.check_output("python3 -c %s %s %s %s %s %s %s %s %s", FETCH, url, method, user, password or "",
                            cafile, str(timeout), data or "", json.dumps(dict(headers or {})))
    status, _newline, body = out.partition("\n")
    return int(status), body


class Sample(NamedTuple):
    """One sample of a Prometheus text exposition."""

    name: str
    labels: Dict[str, str]
    value: float


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?[0-9]+)?[ \t]*$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")


def _unescape(value: str) -> str:
    """A label value as written in the exposition (\\\\, \\" and \\n escaped) to its text."""
    return _ESCAPE.sub(lambda match: "\n" if match.group(1) == "n" else match.group(1), value)


def prom_samples(body: str) -> List[Sample]:
    """The samples of a Prometheus text exposition, in order: [(name, {label: value}, value)].

    Comments (``# HELP``, ``# TYPE``) and blank lines are skipped; label values are
    unescaped; a sample's timestamp is dropped; values are floats (``NaN``, ``+Inf``).
    """
    found = []
    for line in body.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = {label: _unescape(value) for label, value in _LABEL.findall(match.group(2) or "")}
            found.append(Sample(match.group(1), labels, float(match.group(3))))
    return found


def prom_value(samples: List[Sample], metric: str, /, **labels: str) -> Optional[float]:
    """The value of the sample ``metric`` whose labels are exactly ``labels``; None when absent."""
    for sample in samples:
        if sample.name == metric and sample.labels == labels:
            return sample.value
    return None


def platform_name(suffix: str) -> str:
    """The inventory name of a scenario's platform: ``<VIGIL_MOLECULE_PREFIX>-<suffix>``."""
    return "%s-%s" % (os.environ.get("VIGIL_MOLECULE_PREFIX", "vigil"), suffix)


def hostname(host: Any) -> str:
    """The inventory name of the testinfra ``host`` (``vigil-deb12``)."""
    return host.backend.get_hostname()


def is_deb12(host: Any) -> bool:
    """Whether ``host`` is the scenario's Debian 12 platform."""
    return hostname(host).endswith("-deb12")


def sibling(host: Any, suffix: str) -> str:
    """The name of another platform of ``host``'s scenario: ``vigil-deb12`` -> ``vigil-deb13``."""
    return "%s-%s" % (hostname(host).rsplit("-", 1)[0], suffix)


def scenario_host(host: Any, name: str) -> Any:
    """A testinfra host for another inventory host of the running scenario."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return host.get_host("ansible://%s" % name, ansible_inventory=inventory)


# Runs on the lab host: a YAML file as the host's own PyYAML reads it, printed as JSON.
HOST_YAML = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"


def host_yaml(host: Any, path: str) -> Any:
    """The YAML file ``path`` on ``host``, parsed by the host's python3 (as its programs would)."""
    return json.loads(host.check_output("python3 -c %s %s", HOST_YAML, path))


def host_ini(host: Any, path: str) -> configparser.RawConfigParser:
    """The INI file ``path`` on ``host`` (grafana.ini), parsed strictly: a key or section
    given twice is an error, ``%`` is literal, keys before the first section are in
    ``[__top__]``."""
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.read_string("[__top__]\n" + host.file(path).content_string)
    return parser
