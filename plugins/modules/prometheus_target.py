# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Register or deregister one scrape target in a Prometheus file_sd file."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_target
short_description: Add or remove one target in a Prometheus file_sd file
version_added: 0.1.0
description:
  - Keeps one scrape target and its labels in a Prometheus file-based service discovery
    (C(file_sd)) file. Run it on the Prometheus host, usually delegated from an exporter
    role so that each host registers itself.
  - "The file is a list of groups C({targets: [target], labels: {...}}), one group per
    target, sorted by target (IP addresses numerically, then host names), so that the
    output is the same whatever order hosts register in."
  - Safe for many hosts writing into the same file at once (for example C(forks=50)).
    Each run takes an exclusive lock on the sidecar file C(<path>.lock), waiting at most
    O(lock_timeout) seconds, then reads the file, changes it and writes a temporary file
    in the same directory that is flushed to disk and renamed over O(path). No
    registration is lost and the file is complete and valid at every instant, so
    Prometheus never reads a half-written file.
  - Idempotent. Whether the task changed something depends only on this target's own
    entry. When the target is already registered with the same labels the file is not
    rewritten, so its modification time stays the same. When the file is rewritten, it is
    normalised to the layout above.
  - A missing file counts as empty. An existing file that is not valid file_sd makes the
    task fail, and the file is left as it is.
  - The C(<path>.lock) file is left in place on purpose, because deleting it would break
    the locking. If the Prometheus C(file_sd_configs) pattern is C(*.json) or C(*.yml),
    it does not match the lock file or the temporary files (C(.<name>.<pid>.*.tmp)).
  - The lock file is opened without following symbolic links; if C(<path>.lock) is a
    symlink (or anything but a regular file) the task fails and writes nothing.
  - A writer killed between writing its temporary file and renaming it leaves the
    temporary file behind. The next run removes such files, under the lock, and only
    those named C(.<name>.<pid>.<random>.tmp) (or C(.<name>.<random>.tmp) from older
    releases) whose process no longer exists or that are older than 600 seconds; they are
    listed in RV(removed_stale_files).
  - B(One host per target.) A target is one host's registration; the value of its
    O(identity_label) label (C(instance), the inventory name, which every Vigil exporter
    role sets) names that host. When the file already holds the same target (the same
    C(host:port) string) with another value of that label, O(state=present) fails and
    names both hosts, instead of the two hosts replacing each other's labels on every
    run; O(state=absent) leaves the other host's entry in place and warns. An entry
    without the label (written by hand or by an older release) belongs to nobody and is
    replaced. Two different strings for one machine (C(node1:9100) and
    C(10.0.0.5:9100)) are not recognised as the same target.
author:
  - Vigil maintainers (@vigil-monitoring)
requirements:
  - PyYAML on the Prometheus host when O(path) ends in C(.yml) or C(.yaml)
  - A POSIX system with C(fcntl.flock) (Linux, BSD)
options:
  path:
    description:
      - The file_sd file. Its extension sets the format. Use C(.json) for JSON, or
        C(.yml) or C(.yaml) for YAML.
      - The parent directory must already exist. The Vigil C(prometheus) role creates it.
        If it is missing, O(state=present) fails, and O(state=absent) reports no change.
        In check mode there is only a warning, because the role that creates the
        directory also changed nothing in check mode.
      - If O(path) is a symlink, the file it points to is updated.
    type: path
    required: true
  target:
    description:
      - The address Prometheus scrapes, written as C(host:port), for example
        C(node1.example.org:9100) or C(10.0.0.5:9100).
      - Write IPv6 addresses in brackets, for example C([2001:db8::5]:9100).
      - The port must be between 1 and 65535. The target is compared as an exact string.
    type: str
    required: true
  labels:
    description:
      - Labels attached to the target.
      - Names must match C(^[a-zA-Z_][a-zA-Z0-9_]*$) and must not start with C(__),
        because Prometheus reserves those names. Set C(__metrics_path__) and similar
        labels with C(relabel_configs).
      - Values that are not strings are converted to strings. Booleans become C(true)
        or C(false), and numbers are written as in Python (C(9100), C(0.5)). Null,
        lists and mappings are refused.
      - Ignored when O(state=absent).
    type: dict
    default: {}
  state:
    description:
      - V(present) adds the target, or replaces its labels if they differ.
      - V(absent) removes every entry for the target. If the file does not exist, the
        task reports no change and creates no file.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - User name or uid that should own the file.
      - If omitted, a rewritten file keeps its current owner. A new file belongs to the
        user the module runs as.
    type: str
  group:
    description:
      - Group name or gid of the file. If omitted, the current group is kept, as with
        O(owner).
    type: str
  mode:
    description:
      - Permissions of the file, in octal (V('0644')) or symbolic (V(u=rw,g=r,o=r))
        form. Quote octal modes in YAML.
      - Set before the new file is renamed into place, so there is never a moment when
        Prometheus cannot read the file.
    type: raw
    default: '0644'
  identity_label:
    description:
      - The label whose value names the host a target belongs to (see the notes on one host
        per target). V('') turns the check off, so the last writer's labels win.
    type: str
    default: instance
  lock_timeout:
    description:
      - How many seconds to wait for the lock on C(<path>.lock) before failing, from
        V(0) (try once) to V(600).
      - The failure message names the process that holds the lock.
    type: float
    default: 30
notes:
  - Supports check mode. Nothing is locked or written, and the result and diff show
    what would change.
  - Supports diff mode. The diff shows the text of the file before and after. If only
    the owner, group or mode change, the headers of the diff show that.
seealso:
  - name: Prometheus file_sd_config
    description: The file format this module writes.
    link: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config
attributes:
  check_mode:
    description: Check mode reads the file and reports whether it would change, without writing it.
    support: full
  diff_mode:
    description: Diff mode returns the text of the file before and after the task.
    support: full
"""

EXAMPLES = r"""
- name: Register this host's node exporter on the Prometheus server
  vigil.monitoring.prometheus_target:
    path: /etc/prometheus/file_sd/node.json
    target: "{{ entry.targets[0] }}"
    labels: "{{ entry.labels }}"
    owner: root
    group: prometheus
    mode: "0640"
  vars:
    entry: "{{ inventory_hostname | vigil.monitoring.file_sd_entry(hostvars, node_exporter_port, role='node') }}"
  delegate_to: "{{ groups['prometheus'][0] }}"

- name: Register an IPv6 target with labels in a YAML file
  vigil.monitoring.prometheus_target:
    path: /etc/prometheus/file_sd/postgres.yml
    target: "[2001:db8::15]:9187"
    labels:
      environment: production
      role: postgres
      replica: 2  # written as "2"

- name: Deregister a decommissioned host
  vigil.monitoring.prometheus_target:
    path: /etc/prometheus/file_sd/node.json
    target: "old-db1.example.org:9100"
    state: absent
  delegate_to: "{{ groups['prometheus'][0] }}"
"""

RETURN = r"""
target:
  description: The target as written, with surrounding spaces removed.
  returned: always
  type: str
  sample: "10.0.0.5:9100"
labels:
  description:
    - With O(state=present), the labels written, with values as strings and names sorted.
    - With O(state=absent), the labels the target had before it was removed, or C({})
      if it was not registered.
  returned: always
  type: dict
  sample: {"environment": "production", "role": "node"}
path:
  description:
    - The file that was (or in check mode would be) changed.
    - If O(path) is a symlink, this is the file it points to.
  returned: always
  type: str
  sample: /etc/prometheus/file_sd/node.json
targets_count:
  description: Number of targets in the file afterwards (in check mode, the number it would have).
  returned: always
  type: int
  sample: 42
removed_stale_files:
  description:
    - Temporary files of writers that died before renaming them, removed by this run
      (they count as a change).
  returned: always
  type: list
  elements: str
  sample: [/etc/prometheus/file_sd/.node.yml.4242.k3j9x0qa.tmp]
"""

import grp
import os
import pwd
import re
from typing import Any, Dict, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.vigil.monitoring.plugins.module_utils.file_sd import (
    MAX_LOCK_TIMEOUT,
    FileSdError,
    Outcome,
    file_format,
    normalize_labels,
    register,
    validate_target,
)

SYMBOLIC_MODE_RE = re.compile(r"^[ugoa]*[-+=]([rwxXst]*|[ugo])(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$")
OCTAL_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")


def argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        path=dict(type="path", required=True),
        target=dict(type="str", required=True),
        labels=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        owner=dict(type="str"),
        group=dict(type="str"),
        mode=dict(type="raw", default="0644"),
        lock_timeout=dict(type="float", default=30.0),
        identity_label=dict(type="str", default="instance"),
    )


def check_mode_value(mode: Any) -> None:
    """Refuse a mode before anything is written (AnsibleModule would only notice after the write)."""
    if mode is None:
        return
    if isinstance(mode, int) and not isinstance(mode, bool):
        if not 0 <= mode <= 0o7777:
            raise FileSdError("mode %d is not a file permission; write it as a quoted octal string like '0644'" % mode)
        return
    if isinstance(mode, str) and (OCTAL_MODE_RE.match(mode) or SYMBOLIC_MODE_RE.match(mode)):
        return
    raise FileSdError(
        "mode %r is neither octal (for example '0644') nor symbolic (for example 'u=rw,g=r,o=r')" % (mode,)
    )


def check_owner_group(owner: Optional[str], group: Optional[str]) -> None:
    """Make sure owner and group exist on this host, so a typo fails before the file is touched."""
    if owner is not None and not owner.isdigit():
        try:
            pwd.getpwnam(owner)
        except KeyError:
            raise FileSdError(
                "owner '%s' does not exist on this host; create the user first or fix owner" % owner
            ) from None
    if group is not None and not group.isdigit():
        try:
            grp.getgrnam(group)
        except KeyError:
            raise FileSdError(
                "group '%s' does not exist on this host; create the group first or fix group" % group
            ) from None


def validate(params: Dict[str, Any]) -> None:
    """Check every argument up front; raise FileSdError naming the argument and the fix."""
    validate_target(params["target"])
    normalize_labels(params["labels"])
    file_format(params["path"])
    check_mode_value(params["mode"])
    check_owner_group(params["owner"], params["group"])
    timeout = params["lock_timeout"]
    if not 0 <= timeout <= MAX_LOCK_TIMEOUT:
        raise FileSdError("lock_timeout must be between 0 and %g seconds, got %g" % (MAX_LOCK_TIMEOUT, timeout))


def attribute_header(path: str, side: Dict[str, Any]) -> str:
    if not side:
        return path
    return "%s (%s)" % (path, ", ".join("%s %s" % (key, side[key]) for key in sorted(side)))


class AttributeSync:
    """Applies owner/group/mode through AnsibleModule (which respects check mode) and records the diff."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.diff: Dict[str, Dict[str, Any]] = {}
        self.changed = False

    def apply(self, path: str) -> None:
        file_args = self.module.load_file_common_arguments(self.module.params, path=path)
        self.changed = self.module.set_fs_attributes_if_different(file_args, False, self.diff)


def build_result(module: AnsibleModule, path: str, outcome: Outcome, attrs: AttributeSync) -> Dict[str, Any]:
    params = module.params
    if params["state"] == "present":
        labels = normalize_labels(params["labels"])
    else:
        labels = outcome.previous_labels or {}
    result: Dict[str, Any] = dict(
        changed=outcome.changed or attrs.changed or bool(outcome.removed_tmp_files),
        target=params["target"].strip(),
        labels=labels,
        path=path,
        targets_count=outcome.targets_count,
        removed_stale_files=list(outcome.removed_tmp_files),
    )
    if module._diff:
        # For a new file the attribute diff would compare against a temporary file: leave it out.
        attr_diff = attrs.diff if outcome.existed else {}
        result["diff"] = dict(
            before=outcome.before,
            after=outcome.after,
            before_header=attribute_header(path, attr_diff.get("before", {})),
            after_header=attribute_header(path, attr_diff.get("after", {})),
        )
    return result


def run(module: AnsibleModule) -> Dict[str, Any]:
    params = module.params
    validate(params)
    path = os.path.realpath(os.path.abspath(params["path"]))
    attrs = AttributeSync(module)
    outcome = register(
        path,
        params["target"],
        params["labels"],
        state=params["state"],
        lock_timeout=params["lock_timeout"],
        check_mode=module.check_mode,
        prepare_tmp=attrs.apply,
        on_unchanged=attrs.apply,
        identity_label=params["identity_label"] or None,
    )
    if outcome.kept_other_host:
        module.warn(
            "target %s in %s is registered by host '%s', not by this registration (label %s); it was left in place"
            % (params["target"].strip(), path, outcome.kept_other_host, params["identity_label"])
        )
    if outcome.parent_missing and params["state"] == "present":
        module.warn(
            "directory %s does not exist; in a real run this task fails until the prometheus role has created it"
            % os.path.dirname(path)
        )
    if module.check_mode and outcome.existed:
        attrs.apply(path)  # check mode: reports owner/group/mode differences without applying them
    return build_result(module, path, outcome, attrs)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except FileSdError as exc:
        module.fail_json(msg=to_native(exc), path=module.params["path"], target=module.params["target"])
    except OSError as exc:
        module.fail_json(msg="could not update %s: %s" % (module.params["path"], to_native(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
