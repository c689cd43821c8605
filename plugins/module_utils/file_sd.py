# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, change and atomically rewrite Prometheus file_sd files.

Shared by the ``prometheus_target`` module (which adds Ansible's argument handling,
check mode, diff and file attributes) and by the ``prometheus_targets`` filters (which
reuse the target and label validation).

Concurrency model: many hosts register into the same file at once (an exporter role
delegated to the Prometheus host with ``forks: 50``). Every writer takes an exclusive
``fcntl.flock`` on a sidecar ``<file>.lock`` (polled, with a bounded timeout), reads the
file, changes it and writes a temporary file in the same directory which is fsynced and
then renamed over the original with ``os.replace``. The read-modify-write therefore
never loses another writer's update, and Prometheus (which reads without locking) sees
either the old or the new complete file, never a partial one.

Hardening: the lock file is opened with ``O_NOFOLLOW`` (a symlinked ``.lock`` is refused,
never written through) and must be a regular file. Temporary files are named
``.<file>.<pid>.<random>.tmp``; a writer killed between writing and renaming leaves one
behind, and the next writer (under the lock) removes those whose process is gone or
that are older than ``STALE_TMP_AGE``, and nothing else.

Ownership: a target is one host's registration. Its ``instance`` label (the inventory
name, set by the ``file_sd_entry`` filter every exporter role uses) says which host; a
second host registering the same target string is refused with both names, instead of
the two replacing each other's labels on every run (see ``apply_change``).
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import json
import os
import random
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import LABEL_NAME_RE
from ansible_collections.vigil.monitoring.plugins.module_utils.hosts import TARGET_HOST_RE

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - depends on the Prometheus host
    yaml = None
    HAS_YAML = False

YAML_HEADER = "# Managed by vigil.monitoring.prometheus_target: one group per target, sorted by target.\n"
MAX_LOCK_TIMEOUT = 600.0
# A temporary file this old cannot belong to a live writer (writers hold it for milliseconds, under the lock).
STALE_TMP_AGE = MAX_LOCK_TIMEOUT
DEFAULT_IDENTITY_LABEL = "instance"

Entry = Tuple[str, Dict[str, str]]


class FileSdError(Exception):
    """A problem the user must fix (bad input or an unreadable file); nothing was changed."""


class LockTimeout(FileSdError):
    """The sidecar lock could not be taken within the timeout."""


class DuplicateTarget(FileSdError):
    """Another host already registered this target."""


# -- validation ---------------------------------------------------------------


def split_target(target: Any) -> Tuple[str, int]:
    """Validate ``host:port`` (IPv6 as ``[addr]:port``) and return (host, port).

    Raises FileSdError naming the target and the expected form.
    """
    if not isinstance(target, str) or not target.strip():
        raise FileSdError("target must be a non-empty 'host:port' string, got %r" % (target,))
    text = target.strip()
    if "/" in text:
        raise FileSdError(
            "target '%s' must be 'host:port' without a scheme or path; set the scheme and metrics path in "
            "the Prometheus scrape config" % text
        )
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise FileSdError("target '%s': missing ']' after the IPv6 address; write it as '[::1]:9100'" % text)
        host = text[1:close]
        rest = text[close + 1 :]
        if not rest.startswith(":"):
            raise FileSdError("target '%s' has no port: write it as '[%s]:<port>'" % (text, host))
        port_text = rest[1:]
        if not host:
            raise FileSdError("target '%s' has an empty host" % text)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise FileSdError("target '%s': '%s' inside brackets is not an IPv6 address" % (text, host)) from None
    else:
        if text.count(":") > 1:
            raise FileSdError(
                "target '%s' looks like an IPv6 address without brackets: write it as '[address]:port', "
                "for example '[::1]:9100'" % text
            )
        if ":" not in text:
            raise FileSdError("target '%s' has no port: write it as 'host:port', for example '%s:9100'" % (text, text))
        host, port_text = text.split(":", 1)
        if not host:
            raise FileSdError("target '%s' has an empty host: write it as 'host:port'" % text)
        if not TARGET_HOST_RE.match(host):
            raise FileSdError(
                "target '%s': host '%s' is not a valid host name or IPv4 address "
                "(letters, digits, '.', '-' and '_' only)" % (text, host)
            )
    if not port_text.isdigit():
        raise FileSdError("target '%s' has no valid port: '%s' is not a number between 1 and 65535" % (text, port_text))
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise FileSdError("target '%s': port %d is out of range, use 1..65535" % (text, port))
    return host, port


def validate_target(target: Any) -> str:
    """Return the stripped target after validating it (see split_target)."""
    split_target(target)
    return target.strip()


def join_target(address: str, port: int) -> str:
    """Build a target from an address and a port, bracketing IPv6 addresses."""
    address = str(address).strip()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if ":" in address:
        return validate_target("[%s]:%s" % (address, port))
    return validate_target("%s:%s" % (address, port))


def label_value(name: str, value: Any) -> str:
    """Stringify one label value: booleans become 'true'/'false', numbers str(); None and containers fail."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        raise FileSdError("label '%s' has no value (null); give it a string or remove the label" % name)
    raise FileSdError(
        "label '%s' has a %s value; Prometheus label values are strings, so give a string, number or boolean"
        % (name, type(value).__name__)
    )


def normalize_labels(labels: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """Validate label names and stringify values; return a new dict sorted by name.

    Names must match ``^[a-zA-Z_][a-zA-Z0-9_]*$`` and must not start with ``__``
    (Prometheus reserves those for internal labels).
    """
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise FileSdError("labels must be a mapping of label name to value, got %s" % type(labels).__name__)
    result: Dict[str, str] = {}
    for name in sorted(labels, key=str):
        if not isinstance(name, str) or not LABEL_NAME_RE.match(name):
            raise FileSdError(
                "label name '%s' is invalid: use letters, digits and '_', not starting with a digit "
                "(^[a-zA-Z_][a-zA-Z0-9_]*$)" % (name,)
            )
        if name.startswith("__"):
            raise FileSdError(
                "label name '%s' starts with '__', which Prometheus reserves for internal labels; "
                "rename it or set it with relabel_configs" % name
            )
        result[str(name)] = label_value(name, labels[name])
    return result


def file_format(path: str) -> str:
    """Return 'json' or 'yaml' from the file extension (the only two Prometheus file_sd reads)."""
    lowered = path.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith((".yml", ".yaml")):
        return "yaml"
    raise FileSdError("path '%s' must end in .json, .yml or .yaml: Prometheus file_sd reads only those formats" % path)


# -- parsing and rendering ----------------------------------------------------


def _load(text: str, fmt: str, source: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise FileSdError(
                "%s is not valid JSON (%s); fix or remove it, it was left untouched" % (source, exc)
            ) from None
    if not HAS_YAML:
        raise FileSdError(
            "PyYAML is required to read %s: install python3-yaml on the Prometheus host or use a .json file" % source
        )
    try:
        # Like Prometheus (Go structs of strings), read every scalar as text: a hand-written
        # 'replica: 2' or 'enabled: yes' stays "2" / "yes" instead of becoming 2 / True.
        return yaml.load(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    except yaml.YAMLError as exc:
        raise FileSdError(
            "%s is not valid YAML (%s); fix or remove it, it was left untouched" % (source, exc)
        ) from None


def _group_entries(group: Any, index: int, source: str, fmt: str) -> List[Entry]:
    where = "%s: group #%d" % (source, index + 1)
    if not isinstance(group, dict):
        raise FileSdError("%s is a %s, expected a mapping with 'targets' and 'labels'" % (where, type(group).__name__))
    unknown = sorted(str(k) for k in group if k not in ("targets", "labels"))
    if unknown:
        raise FileSdError("%s has unknown keys %s; file_sd groups have only 'targets' and 'labels'" % (where, unknown))
    targets = group.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, str) and t for t in targets):
        raise FileSdError("%s: 'targets' must be a list of non-empty strings, got %r" % (where, targets))
    labels = group.get("labels")
    if labels is None or (fmt == "yaml" and labels == ""):  # 'labels:' with no value
        labels = {}
    if not isinstance(labels, dict):
        raise FileSdError("%s: 'labels' must be a mapping, got %s" % (where, type(labels).__name__))
    for name, value in labels.items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise FileSdError(
                "%s: label %r: %r is not a string; file_sd label names and values must be strings"
                % (where, name, value)
            )
    return [(target, dict(labels)) for target in targets]


def parse_file_sd(text: str, fmt: str, source: str = "file") -> List[Entry]:
    """Parse file_sd text into (target, labels) entries, one per target, in file order.

    Empty text (or a YAML file with only comments) is an empty list. Anything that is not
    a list of {targets: [str], labels: {str: str}} groups raises FileSdError.
    """
    if not text.strip():
        return []
    data = _load(text, fmt, source)
    if data is None:
        return []
    if not isinstance(data, list):
        raise FileSdError("%s must contain a list of target groups, found a %s" % (source, type(data).__name__))
    entries: List[Entry] = []
    for index, group in enumerate(data):
        entries.extend(_group_entries(group, index, source, fmt))
    return entries


@lru_cache(maxsize=8192)
def target_sort_key(target: str) -> Tuple[Any, ...]:
    """Order IP targets numerically (IPv4 before IPv6), then host names alphabetically, then port."""
    host, _, port = target.rpartition(":")
    if not host:
        host, port = target, ""
    port_key = int(port) if port.isdigit() else -1
    try:
        address = ipaddress.ip_address(host.strip("[]"))
        return (0, address.version, int(address), port_key, target)
    except ValueError:
        return (1, host.lower(), 0, port_key, target)


def sort_entries(entries: List[Entry]) -> List[Entry]:
    return sorted(entries, key=lambda e: (target_sort_key(e[0]), json.dumps(e[1], sort_keys=True)))


def render_file_sd(entries: List[Entry], fmt: str) -> str:
    """Render entries as file_sd text: one group per target, sorted by target, labels sorted by name."""
    groups = [{"targets": [target], "labels": dict(sorted(labels.items()))} for target, labels in sort_entries(entries)]
    if fmt == "json":
        return json.dumps(groups, indent=2, ensure_ascii=False) + "\n"
    if not HAS_YAML:
        raise FileSdError("PyYAML is required to write YAML file_sd files: install python3-yaml or use a .json file")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return YAML_HEADER + yaml.dump(groups, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def other_registrants(
    entries: List[Entry], target: str, labels: Dict[str, str], identity_label: Optional[str]
) -> List[str]:
    """Hosts other than this registration's that hold ``target`` (by ``identity_label``), sorted.

    Only entries and registrations that carry the identity label take part: an entry
    without it (written by hand, or by an older run) belongs to nobody and is replaced.
    """
    me = labels.get(identity_label) if identity_label else None
    if not me:
        return []
    holders = {entry_labels.get(identity_label) for entry_target, entry_labels in entries if entry_target == target}
    return sorted(str(h) for h in holders if h and h != me)


def duplicate_message(path: str, target: str, holders: List[str], me: str, identity_label: str) -> str:
    return (
        "target '%s' in %s is already registered by host %s (label %s); host '%s' registers the same target. "
        "Two hosts cannot share one scrape target: give each host its own address or port "
        "(vigil_metrics_address, <exporter>_port). If %s no longer exists, remove its entry first "
        "(its exporter role with <role>_register_state: absent, or prometheus_target with state: absent and "
        "labels: {%s: %s})"
        % (target, path, ", ".join("'%s'" % h for h in holders), identity_label, me,
           "'%s'" % holders[0] if len(holders) == 1 else "one of them", identity_label, holders[0])
    )


def apply_change(
    entries: List[Entry], target: str, labels: Dict[str, str], state: str,
    identity_label: Optional[str] = None, source: str = "the file",
) -> Tuple[List[Entry], bool, Optional[Dict[str, str]]]:
    """Return (new entries, unsorted: render_file_sd sorts them; changed; labels the target had before or None).

    Changed is decided on the target's own entries only, so a file someone wrote by hand
    (several targets per group, other order) is not rewritten when this target is already
    registered with these labels.

    With ``identity_label`` (normally ``instance``): when the target is registered by
    another host (its entry's identity label differs from this registration's), state
    present raises DuplicateTarget naming both hosts, and state absent leaves the other
    host's entry alone (unchanged).
    """
    mine = [entry_labels for entry_target, entry_labels in entries if entry_target == target]
    others = [entry for entry in entries if entry[0] != target]
    previous = mine[0] if mine else None
    holders = other_registrants(entries, target, labels, identity_label)
    if holders:
        if state == "present":
            raise DuplicateTarget(duplicate_message(source, target, holders, labels[identity_label], identity_label))
        return entries, False, previous
    if state == "present":
        return others + [(target, dict(labels))], mine != [labels], previous
    return others, bool(mine), previous


# -- locking and atomic write ---------------------------------------------------


def open_lock_file(lock_path: str) -> int:
    """Open (create) the lock file without following a symlink; it must be a regular file.

    A symlinked ``.lock`` would make this writer write its pid through the link into
    whatever file it names; it is refused instead (ELOOP), and so is a FIFO or a device.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock_path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileSdError(
                "lock file %s is a symbolic link; refusing to follow it. Remove the link (the module creates the "
                "lock file itself)" % lock_path
            ) from None
        raise FileSdError("cannot open lock file %s: %s" % (lock_path, exc.strerror)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileSdError("lock file %s is not a regular file; remove it (the module creates it)" % lock_path)
    return fd


def _lock_holder(fd: int) -> str:
    try:
        content = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return content if content.isdigit() else ""


@contextmanager
def exclusive_lock(lock_path: str, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on lock_path, polling until ``timeout`` seconds have passed.

    The lock file is left in place afterwards: deleting it would let two writers lock
    different inodes. It holds the pid of the current holder for the timeout message.
    """
    fd = open_lock_file(lock_path)
    deadline = time.monotonic() + timeout
    delay = 0.002
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise FileSdError("cannot lock %s: %s" % (lock_path, exc.strerror)) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = _lock_holder(fd)
                raise LockTimeout(
                    "timed out after %s s waiting for the lock %s (held by %s); another prometheus_target run "
                    "is still writing or is stuck: check that process, or raise lock_timeout"
                    % (_seconds(timeout), lock_path, "process %s" % holder if holder else "another process")
                )
            time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))
            delay = min(delay * 2, 0.025)
        try:
            # fixed width, so it always overwrites the previous holder's pid without a truncate
            os.pwrite(fd, ("%-20d\n" % os.getpid()).encode("ascii"), 0)
        except OSError:
            pass  # the pid is only a hint for the timeout message
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _seconds(value: float) -> str:
    return "%g" % value


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_attributes(tmp: str, existing: Optional[os.stat_result]) -> None:
    """Give the temporary file the old file's mode and owner (or 0644 for a new file)."""
    if existing is None:
        os.chmod(tmp, 0o644)
        return
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))
    try:
        os.chown(tmp, existing.st_uid, existing.st_gid)
    except PermissionError:
        pass  # not root: the file keeps our ownership, as any other write by this user would


def tmp_prefix(path: str, pid: Optional[int] = None) -> str:
    """Prefix of this writer's temporary files beside ``path``: ``.<name>.<pid>.``."""
    return ".%s.%d." % (os.path.basename(path), os.getpid() if pid is None else pid)


def _tmp_name_re(path: str) -> "re.Pattern[str]":
    # .<name>.<pid>.<mkstemp's 8 characters>.tmp, or .<name>.<8 characters>.tmp (older writers, no pid)
    return re.compile(r"^\.%s\.(?:(\d+)\.)?[A-Za-z0-9_]{8}\.tmp$" % re.escape(os.path.basename(path)))


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_stale_tmp_files(path: str, now: Optional[float] = None, max_age: float = STALE_TMP_AGE) -> List[str]:
    """Remove temporary files left beside ``path`` by writers that died before renaming them.

    Call it holding the lock (writers create temporary files only under it). A file is
    removed only if its name is exactly this module's pattern for ``path``, it is a
    regular file (not followed if a link), and its writer's process is gone or the file
    is older than ``max_age`` seconds. Returns the removed paths.
    """
    directory = os.path.dirname(path) or "."
    pattern = _tmp_name_re(path)
    now = time.time() if now is None else now
    removed: List[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in sorted(names):
        match = pattern.match(name)
        if not match:
            continue
        candidate = os.path.join(directory, name)
        try:
            info = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = int(match.group(1)) if match.group(1) else None
        if pid == os.getpid():
            continue
        old = now - info.st_mtime > max_age
        if not old and (pid is None or _process_alive(pid)):
            continue
        try:
            os.unlink(candidate)
        except OSError:
            continue
        removed.append(candidate)
    return removed


def atomic_write(
    path: str, text: str, existing: Optional[os.stat_result] = None, prepare: Optional[Callable[[str], Any]] = None
) -> None:
    """Write text to a fsynced temporary file beside path, prepare it, and rename it over path."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        _copy_attributes(tmp, existing)
        if prepare is not None:
            prepare(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


# -- the whole operation ------------------------------------------------------


@dataclass
class Outcome:
    """What register() did (or would do in check mode)."""

    changed: bool
    before: str
    after: str
    existed: bool
    targets_count: int
    previous_labels: Optional[Dict[str, str]]
    parent_missing: bool = False
    removed_tmp_files: Tuple[str, ...] = ()
    kept_other_host: Optional[str] = None


def _read(path: str) -> Tuple[str, Optional[os.stat_result]]:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise FileSdError("%s is not a regular file" % path)
            data = handle.read()
    except FileNotFoundError:
        return "", None
    except IsADirectoryError:
        raise FileSdError("%s is a directory; path must name the file_sd file itself" % path) from None
    except OSError as exc:
        raise FileSdError("cannot read %s: %s" % (path, exc.strerror)) from None
    try:
        return data.decode("utf-8"), info
    except UnicodeDecodeError:
        raise FileSdError("%s is not UTF-8 text; fix or remove it, it was left untouched" % path) from None


def _compute(
    path: str, fmt: str, target: str, labels: Dict[str, str], state: str, identity_label: Optional[str]
) -> Tuple[Outcome, Optional[os.stat_result]]:
    before, info = _read(path)
    entries = parse_file_sd(before, fmt, path)
    new_entries, changed, previous = apply_change(entries, target, labels, state, identity_label, path)
    after = render_file_sd(new_entries, fmt) if changed else before
    count = len(new_entries) if changed else len(entries)
    outcome = Outcome(changed, before, after, info is not None, count, previous)
    holders = other_registrants(entries, target, labels, identity_label)
    if holders:
        outcome.kept_other_host = holders[0]
    return outcome, info


def register(
    path: str,
    target: str,
    labels: Optional[Mapping[str, Any]] = None,
    state: str = "present",
    lock_timeout: float = 30.0,
    check_mode: bool = False,
    prepare_tmp: Optional[Callable[[str], Any]] = None,
    on_unchanged: Optional[Callable[[str], Any]] = None,
    identity_label: Optional[str] = DEFAULT_IDENTITY_LABEL,
) -> Outcome:
    """Add (state=present) or remove (state=absent) one target in a file_sd file.

    ``path`` should already be resolved (no symlink) and absolute. Inputs are validated
    first; a FileSdError means nothing was written. In check mode nothing is locked or
    written. ``prepare_tmp(tmp_path)`` runs on the new file before it is renamed into
    place (set owner, group, mode there); ``on_unchanged(path)`` runs under the lock when
    the file exists and its content needs no change. ``identity_label`` names the label
    that says which host a target belongs to (see apply_change; empty or None: none).
    Under the lock, temporary files of dead writers are removed first
    (``Outcome.removed_tmp_files``).
    """
    if state not in ("present", "absent"):
        raise FileSdError("state must be 'present' or 'absent', got %r" % (state,))
    target = validate_target(target)
    clean_labels = normalize_labels(labels)
    fmt = file_format(path)
    if not 0 <= lock_timeout <= MAX_LOCK_TIMEOUT:
        raise FileSdError("lock_timeout must be between 0 and %g seconds, got %s" % (MAX_LOCK_TIMEOUT, lock_timeout))
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        if state == "absent" or check_mode:
            outcome = Outcome(state == "present", "", "", False, 0, None, parent_missing=True)
            if state == "present":
                outcome.after = render_file_sd([(target, clean_labels)], fmt)
                outcome.targets_count = 1
            return outcome
        raise FileSdError(
            "directory %s does not exist: the prometheus role creates it, run that role on this host first "
            "(or create the directory) before registering targets into %s" % (directory, os.path.basename(path))
        )
    if identity_label is not None and identity_label and not LABEL_NAME_RE.match(identity_label):
        raise FileSdError("identity_label '%s' is not a label name" % identity_label)
    if check_mode or (state == "absent" and not os.path.lexists(path)):
        return _compute(path, fmt, target, clean_labels, state, identity_label)[0]
    with exclusive_lock(path + ".lock", lock_timeout):
        removed = remove_stale_tmp_files(path)
        outcome, info = _compute(path, fmt, target, clean_labels, state, identity_label)
        outcome.removed_tmp_files = tuple(removed)
        if outcome.changed:
            atomic_write(path, outcome.after, info, prepare_tmp)
        elif outcome.existed and on_unchanged is not None:
            on_unchanged(path)
    return outcome
