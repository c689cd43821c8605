# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every API resource module shares: check mode, diff mode, the result shape."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Check mode reads the resource and reports what would change (and the result), without any write request.
    support: full
  diff_mode:
    description:
      - Diff mode returns the resource before and after the task, in the form the module compares; C({}) stands for
        a resource that does not exist. Secrets never appear in it.
    support: full
notes:
  - "The result of every API resource module of this collection has the same shape: C(changed); the resource after
    the task under the key the module's return values name (C({}) when it does not exist); C(changed_fields), the
    dotted paths of what differs (every top-level field on create and delete, an empty list when nothing changes);
    and C(diff) (C(before), C(after)) in diff mode."
  - "A failed API call fails the task with C(msg) (what was attempted, the method and URL, the HTTP status and the
    server's own reason, and a hint where one helps), C(status) (-1 when no answer came), C(method), C(url) and
    C(response) (the server's answer)."
"""

    # vigil.monitoring.resource.state: the state option (a module may give its own description).
    STATE = r"""
options:
  state:
    description: Whether the resource must exist (C(present), created or updated as needed) or not (C(absent), deleted).
    type: str
    choices: [present, absent]
    default: present
"""
