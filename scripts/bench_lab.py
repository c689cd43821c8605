#!/usr/bin/env python
"""Benchmark site.yml on labs of several sizes (run by hand, not a test).

For each size N (default 5, 15, 30) it builds an inventory of N lab containers
(the lab's groups, extra hosts as plain exporter hosts), creates them and deploys the
lab stand-ins (not timed), then times site.yml alone and prints:
cold converge time of site.yml, idempotent re-run time and whether it reported
changed=0 everywhere, seconds per host, and the controller's peak memory (resident
memory summed over the lab.sh/ansible-playbook process tree, sampled every 0.5 s,
the larger of the two runs).
The lab is removed after each size.

    scripts/bench_lab.py                 # 5, 15 and 30 hosts
    scripts/bench_lab.py --sizes 5 --keep

Needs what `make lab` needs (root or a Docker engine, the lab images).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventories" / "lab"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def build_inventory(size: int, workdir: Path) -> Path:
    """The lab inventory with extra node hosts up to `size` hosts in all."""
    base = yaml.safe_load((LAB / "hosts.yml").read_text())
    lab_hosts = base["all"]["children"]["lab"]["hosts"]
    images = ["vigil/debian12-systemd", "vigil/debian13-systemd"]
    index = 1
    while len(lab_hosts) < size:
        name = "vigil-bench%02d" % index
        lab_hosts[name] = {"lab_image": images[index % 2]}
        index += 1
    if len(lab_hosts) > size:
        raise SystemExit("the lab inventory already has %d hosts; pick a size >= that" % len(lab_hosts))
    inv = workdir / ("inventory-%d" % size)
    if inv.exists():
        shutil.rmtree(inv)
    inv.mkdir(parents=True)
    (inv / "hosts.yml").write_text("---\n" + yaml.safe_dump(base, sort_keys=False))
    shutil.copytree(LAB / "group_vars", inv / "group_vars")
    return inv


def _tree_rss_kib(root_pid: int) -> int:
    """Sum of VmRSS over root_pid and all its descendants (Linux /proc)."""
    parents = {}
    rss = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0) for pid in tree)


def lab(action: str, inv: Path, extra: str = "", sample: bool = False):
    """Run scripts/lab.sh; return (returncode, output, peak tree RSS in KiB when sampled)."""
    env = dict(os.environ, VIGIL_LAB_INVENTORY=str(inv), ANSIBLE_ARGS=extra, ANSIBLE_NOCOLOR="1")
    out = ROOT / ".cache" / "bench" / "lab-output.log"
    with open(out, "w") as fh:
        proc = subprocess.Popen([str(ROOT / "scripts" / "lab.sh"), action], cwd=ROOT, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)
        peak = 0
        deadline = time.monotonic() + 3600
        while proc.poll() is None:
            if sample:
                peak = max(peak, _tree_rss_kib(proc.pid))
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("lab.sh %s did not finish within an hour" % action)
            time.sleep(0.5)
    return proc.returncode, out.read_text(), peak


def prepare(inv: Path, workdir: Path, size: int) -> None:
    """Containers and lab stand-ins, not timed: they are not part of site.yml."""
    for action in ("create", "fixtures"):
        code, output, dummy = lab(action, inv)
        if code != 0:
            log = workdir / ("%s-%d.log" % (action, size))
            log.write_text(output)
            raise SystemExit("lab.sh %s failed, see %s" % (action, log))


def timed_converge(inv: Path, log: Path):
    """One timed run of site.yml alone: (seconds, changed, hosts, peak controller RSS KiB)."""
    start = time.monotonic()
    code, output, peak_kib = lab("site", inv, sample=True)
    elapsed = time.monotonic() - start
    log.write_text(output)
    if code != 0:
        raise SystemExit("converge failed, see %s" % log)
    recaps = RECAP.findall(output)
    changed = sum(int(c) for dummy, c, dummy, dummy in recaps)
    return elapsed, changed, len({host for host, dummy, dummy, dummy in recaps}), peak_kib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 15, 30])
    parser.add_argument("--keep", action="store_true", help="leave the last lab running")
    parser.add_argument("--strategies", nargs="+", choices=["plain", "mitogen"], default=["plain"],
                        help="plain Ansible and/or Mitogen's strategy (VIGIL_MITOGEN=1, docs/performance.md); "
                             "each on a new lab")
    args = parser.parse_args()
    workdir = ROOT / ".cache" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("vigil lab benchmark %s on %s, %d cores, %.0f GiB, python %s"
          % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count() or 0, mem_gib, platform.python_version()))
    print("%6s %9s %12s %12s %10s %10s %14s"
          % ("hosts", "strategy", "cold s", "rerun s", "changed", "s/host", "peak RSS MiB"))
    runs = [(size, strategy) for size in args.sizes for strategy in args.strategies]
    for size, strategy in runs:
        os.environ["VIGIL_MITOGEN"] = "1" if strategy == "mitogen" else "0"
        inv = build_inventory(size, workdir)
        lab("down", inv)
        try:
            prepare(inv, workdir, size)
            cold, dummy, hosts, cold_peak = timed_converge(inv, workdir / ("cold-%d-%s.log" % (size, strategy)))
            rerun, changed, dummy, rerun_peak = timed_converge(inv, workdir / ("rerun-%d-%s.log" % (size, strategy)))
            peak = max(cold_peak, rerun_peak)
            print("%6d %9s %12.1f %12.1f %10s %10.2f %14.0f"
                  % (hosts, strategy, cold, rerun, "0" if changed == 0 else str(changed), cold / max(hosts, 1),
                     peak / 1024))
            sys.stdout.flush()
        finally:
            if not (args.keep and (size, strategy) == runs[-1]):
                lab("down", inv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
