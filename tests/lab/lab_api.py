"""Query HTTP APIs from inside a lab host (testinfra), so traffic stays in the lab."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

CLIENT = r"""
import json, sys, urllib.error, urllib.request
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
except urllib.error.HTTPError as err:
    print(json.dumps({"status": err.code, "body": err.read().decode()}))
except OSError as err:
    print(json.dumps({"status": -1, "body": str(err)}))
"""


def http(host, url: str, method: str = "GET", body: Any = None) -> dict:
    """Run one request on `host`; return {'status', 'body', 'json'}."""
    args = [method, url] + ([json.dumps(body)] if body is not None else [])
    cmd = host.run("python3 -c %s" + " %s" * len(args), CLIENT, *args)  # testinfra quotes each argument
    assert cmd.rc == 0, cmd.stderr
    result = json.loads(cmd.stdout)
    try:
        result["json"] = json.loads(result["body"])
    except ValueError:
        result["json"] = None
    return result


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 3.0, what: str = "condition") -> Any:
    """Poll predicate until it returns something truthy; bounded by timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s not met within %ss (last: %r)" % (what, timeout, last))
