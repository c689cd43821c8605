# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking the routing with ``amtool config routes test`` (the alertmanager role's route test step).

alertmanager_amtool_matchers(cases)
  cases: the route test cases ({labels, receivers}, vigil.monitoring.alertmanager_route_tests)
  returns per case its labels as amtool arguments: name="value" each, the value escaped for
  amtool's matcher parser (\\ and "), the whole quoted for the shell.

alertmanager_amtool_answers(lines)
  lines: the step's output, one "<case index><TAB><receivers>" line per case
  returns {case index: receivers as amtool printed them}.

alertmanager_route_mismatches(cases, answers)
  returns one sentence per case whose receivers are not the expected ones (in any order):
  labels <JSON> expected <receivers> got <receivers, or nothing>.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any, Dict, List

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import (
    FilterInputError,
    as_list,
    as_mapping,
    filter_errors,
    whole_number,
)


def _cases(cases: Any) -> List[Mapping]:
    items = as_list(cases, "the route test cases")
    for index, case in enumerate(items):
        if not isinstance(case, Mapping) or "labels" not in case or "receivers" not in case:
            raise FilterInputError("route test case %d needs labels and receivers, got %r" % (index, case))
    return items


def _matcher(name: Any, value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return shlex.quote('%s="%s"' % (name, text))


@filter_errors
def alertmanager_amtool_matchers(cases: Any) -> List[str]:
    """The amtool arguments of every case, quoted for the shell."""
    return [" ".join(_matcher(name, value) for name, value in as_mapping(case["labels"], "labels").items())
            for case in _cases(cases)]


@filter_errors
def alertmanager_amtool_answers(lines: Any) -> Dict[int, str]:
    """{case index: receivers} from the lines "<index><TAB><receivers>"."""
    found: Dict[int, str] = {}
    for line in as_list(lines, "amtool's output lines"):
        index, _tab, receivers = str(line).partition("\t")
        found[whole_number(index, "the case index of the line %r" % line)] = receivers.strip()
    return found


def _sorted(names: List[str]) -> List[str]:
    return sorted(names, key=str.lower)


@filter_errors
def alertmanager_route_mismatches(cases: Any, answers: Any) -> List[str]:
    """The cases that reach other receivers than expected."""
    got_by_case = as_mapping(answers, "amtool's answers")
    found = []
    for index, case in enumerate(_cases(cases)):
        got = str(got_by_case.get(index, got_by_case.get(str(index), "")))
        expected = [str(name) for name in as_list(case["receivers"], "the receivers of route test case %d" % index)]
        if _sorted([name.strip() for name in got.split(",")]) != _sorted(expected):
            found.append("labels %s expected %s got %s" % (json.dumps(case["labels"]), ",".join(expected), got or "nothing"))
    return found


class FilterModule:
    """amtool route checks."""

    def filters(self):
        return {
            "alertmanager_amtool_matchers": alertmanager_amtool_matchers,
            "alertmanager_amtool_answers": alertmanager_amtool_answers,
            "alertmanager_route_mismatches": alertmanager_route_mismatches,
        }
