"""The decisions: which alert blocks which address, where, for how long, and when it ends.

Every alert of a notification goes through the guard rails in this order, and the first
that stops it is the reason recorded in the audit log:

1. the catalog declares a response for the alert (``responses``; reason ``no_response_declared``)
   and the alert's ``vigil_response`` label names that action (``action_mismatch``);
2. the label the response names holds one address (``missing_address_label``,
   ``invalid_address``, ``special_address``, ``network_too_wide``);
3. the address is outside the allowlist (``allowlisted``);
4. a firing alert: an address blocked already stays as it is (``unchanged``; ``extended``
   only with ``extend_on_repeat``); a new block needs room under ``max_active_blocks``
   (``max_active_blocks``) and lasts the response's TTL, capped by ``ttl.max``;
   in dry run it is recorded (``dry_run``) and nothing is applied;
5. a resolved alert leaves the block until it expires (``kept``) unless
   ``unblock_on_resolved`` says otherwise (``unblocked``).

One lock serialises notifications and the expiry timer, so the count of active blocks and
the answer to "is it blocked already?" are always those of the moment of the decision.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from vigil_responder import addresses
from vigil_responder.audit import AuditLog, rfc3339
from vigil_responder.config import Config, Response
from vigil_responder.drivers import Driver, DriverError
from vigil_responder.metrics import Metrics
from vigil_responder.state import Block, State

LOG = logging.getLogger("vigil_responder")
RESPONSE_LABEL = "vigil_response"
RETRY_SECONDS = 30
MIN_WAIT = 0.2
# A native-expiry firewall still listing a block this long after its end gets a delete.
OVERDUE_SECONDS = 5


class Engine:
    def __init__(self, config: Config, drivers: Sequence[Driver], audit: AuditLog, state: State, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.drivers: Dict[str, Driver] = {driver.name: driver for driver in drivers}
        self.audit = audit
        self.state = state
        self.metrics = metrics
        self.clock = clock
        self.lock = threading.RLock()
        self._next_reconcile = 0.0
        self._retry_at: Dict[str, float] = {}
        metrics.dry_run.set(1 if config.dry_run else 0)
        metrics.max_active_blocks.set(config.max_active_blocks)

    # ------------------------------------------------------------------ audit helpers
    def _outcome(self, event: str, base: Mapping[str, Any], **fields: Any) -> Dict[str, Any]:
        self.metrics.decisions.labels(event).inc()
        if event == "refused":
            self.metrics.refusals.labels(fields.get("reason", "unknown")).inc()
        record = dict(base)
        record.update(fields)
        return self.audit.write(event, **record)

    def _refuse(self, base: Mapping[str, Any], reason: str, detail: str, **fields: Any) -> Dict[str, Any]:
        # A resolved alert is not refused (nothing was asked): the same checks make it ignored.
        event = "ignored" if base.get("status") == "resolved" else "refused"
        return self._outcome(event, base, reason=reason, detail=detail, **fields)

    # ------------------------------------------------------------------ notifications
    def process(self, payload: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        """Decide on every alert of one webhook notification (already authenticated and shape-checked)."""
        with self.lock:
            alerts = payload.get("alerts") or []
            self.audit.write("received", notification=meta.get("id"), remote=meta.get("remote"), user=meta.get("user"),
                             receiver=payload.get("receiver"), status=payload.get("status"),
                             group_key=payload.get("groupKey"), alerts=len(alerts),
                             truncated_alerts=payload.get("truncatedAlerts") or None, dry_run=self.config.dry_run)
            for alert in alerts:
                try:
                    self._alert(alert, meta.get("id"))
                except Exception:  # one bad alert must not stop the others  # pylint: disable=broad-except
                    LOG.exception("deciding on an alert failed")
                    self._outcome("failed", {"notification": meta.get("id")}, reason="internal_error")
            self._publish()

    def _alert(self, alert: Mapping[str, Any], notification: Any) -> None:
        now = self.clock()
        labels = alert.get("labels") or {}
        base: Dict[str, Any] = {
            "notification": notification,
            "alertname": labels.get("alertname"),
            "fingerprint": alert.get("fingerprint"),
            "status": alert.get("status"),
            "dry_run": self.config.dry_run,
        }
        response = self.config.responses.get(labels.get("alertname", ""))
        if response is None:
            self._refuse(base, "no_response_declared", "the alert catalog declares no response for this alert")
            return
        if labels.get(RESPONSE_LABEL) != response.action:
            self._refuse(base, "action_mismatch", "label %s is %r; the catalog declares %s" % (
                RESPONSE_LABEL, labels.get(RESPONSE_LABEL), response.action))
            return
        raw = labels.get(response.label)
        if raw is None:
            self._refuse(base, "missing_address_label", "the alert has no label %s" % response.label)
            return
        try:
            network = addresses.parse_target(raw, self.config.min_prefix_ipv4, self.config.min_prefix_ipv6)
        except addresses.AddressError as exc:
            self._refuse(base, exc.reason, str(exc), address=str(raw)[:addresses.MAX_ADDRESS_CHARS])
            return
        base["address"] = addresses.display(network)
        allowed = self.config.allowlist.match(network)
        if allowed is not None:
            self._refuse(base, "allowlisted", "in the allowlist (%s)" % allowed)
            return
        if alert.get("status") == "resolved":
            self._resolved(network, base, now)
        else:
            self._firing(network, response, alert, base, now)

    def _firing(self, network: addresses.Network, response: Response, alert: Mapping[str, Any],
                base: Dict[str, Any], now: float) -> None:
        key = network.with_prefixlen
        ttl = self.config.ttl_for(response)
        existing = self.state.get(key)
        if existing is not None and existing.active(now):
            self._repeat(existing, network, ttl, base, now)
            return
        active = self.state.count_active(now, self.config.dry_run)
        if active >= self.config.max_active_blocks:
            self._refuse(base, "max_active_blocks", "%d blocks are active, the limit is %d" % (
                active, self.config.max_active_blocks))
            return
        block = Block(network=key, alertname=response.alertname, fingerprint=str(alert.get("fingerprint") or ""),
                      created_at=now, expires_at=now + ttl, ttl=ttl, dry_run=self.config.dry_run)
        if self.config.dry_run:
            block.firewalls = {name: "dry_run" for name in self.drivers}
            self.state.put(block)
            self.state.save()
            self._outcome("dry_run", base, ttl=ttl, expires_at=rfc3339(block.expires_at),
                          firewalls=sorted(self.drivers), detail="dry run: nothing applied")
            return
        errors = self._apply(block, network, ttl, list(self.drivers))
        done = sorted(name for name, status in block.firewalls.items() if status == "blocked")
        if not done:
            self._outcome("failed", base, ttl=ttl, operation="block", errors=errors)
            return
        self.state.put(block)
        self.state.save()
        self._outcome("applied", base, ttl=ttl, expires_at=rfc3339(block.expires_at), firewalls=done,
                      errors=errors or None)

    def _apply(self, block: Block, network: addresses.Network, ttl: int, names: List[str]) -> Dict[str, str]:
        errors: Dict[str, str] = {}
        for name in names:
            try:
                self.drivers[name].block(network, ttl)
                block.firewalls[name] = "blocked"
            except DriverError as exc:
                block.firewalls[name] = "error"
                errors[name] = str(exc)
                self.metrics.firewall_errors.labels(name, "block").inc()
        return errors

    def _repeat(self, block: Block, network: addresses.Network, ttl: int, base: Dict[str, Any], now: float) -> None:
        """The same address again (Alertmanager re-sends every repeat_interval): nothing new unless configured."""
        errors: Dict[str, str] = {}
        if self.config.dry_run and not block.dry_run:
            # A block made before dry run was turned on: dry run changes nothing, not even its end.
            self._outcome("unchanged", base, expires_at=rfc3339(block.expires_at),
                          detail="blocked already (before dry run was turned on); dry run changes nothing")
            return
        retried = [name for name in block.failed_on() if name in self.drivers] if not block.dry_run else []
        if retried:
            errors = self._apply(block, network, max(1, int(block.expires_at - now)), retried)
        if self.config.extend_on_repeat and now + ttl > block.expires_at:
            if not block.dry_run:
                for name in sorted(n for n, s in block.firewalls.items() if s == "blocked" and n in self.drivers):
                    try:
                        self.drivers[name].extend(network, ttl)
                    except DriverError as exc:
                        errors[name] = str(exc)
                        self.metrics.firewall_errors.labels(name, "extend").inc()
            block.expires_at = now + ttl
            block.ttl = ttl
            self.state.save()
            self._outcome("extended", base, ttl=ttl, expires_at=rfc3339(block.expires_at), errors=errors or None)
            return
        if retried:
            self.state.save()
        self._outcome("unchanged", base, expires_at=rfc3339(block.expires_at),
                      detail="blocked already; repeated notifications do not extend a block (extend_on_repeat: false)",
                      retried=retried or None, errors=errors or None)

    def _resolved(self, network: addresses.Network, base: Dict[str, Any], now: float) -> None:
        block = self.state.get(network.with_prefixlen)
        if block is None or not block.active(now):
            self._outcome("ignored", base, reason="no_active_block", detail="resolved, and nothing is blocked")
            return
        if not self.config.unblock_on_resolved:
            self._outcome("kept", base, expires_at=rfc3339(block.expires_at),
                          detail="resolved notifications do not end a block early (unblock_on_resolved: false)")
            return
        errors = self._remove(block, network, "unblock")
        if errors:
            self.state.save()
            self._outcome("failed", base, operation="unblock", errors=errors)
            return
        self.state.remove(block.network)
        self.state.save()
        self._outcome("unblocked", base, detail="resolved (unblock_on_resolved: true)")

    def _remove(self, block: Block, network: addresses.Network, operation: str) -> Dict[str, str]:
        """Take a block off every firewall that has it; the names that failed stay in block.firewalls."""
        errors: Dict[str, str] = {}
        if block.dry_run:
            return errors
        for name in sorted(n for n, s in block.firewalls.items() if s == "blocked"):
            driver = self.drivers.get(name)
            if driver is None:
                continue
            try:
                driver.unblock(network)
                block.firewalls[name] = "removed"
            except DriverError as exc:
                errors[name] = str(exc)
                self.metrics.firewall_errors.labels(name, operation).inc()
        return errors

    # ------------------------------------------------------------------ time
    def startup(self) -> None:
        """Forget simulated blocks when enforcing, check the firewalls, expire and re-apply what the state says."""
        with self.lock:
            for block in list(self.state):
                if block.dry_run and not self.config.dry_run:
                    LOG.info("dry run is off: forgetting the simulated block of %s", block.network)
                    self.state.remove(block.network)
                for name in list(block.firewalls):
                    if name not in self.drivers:
                        LOG.warning("%s was blocked on firewall %s, which is no longer configured: remove it there "
                                    "by hand", block.network, name)
                        del block.firewalls[name]
            for driver in self.drivers.values():
                try:
                    driver.check()
                except DriverError as exc:
                    LOG.error("firewall %s (%s) is not usable: %s", driver.name, driver.type_name, exc)
                    self.metrics.firewall_errors.labels(driver.name, "check").inc()
            self.state.save()
            self._next_reconcile = 0.0
        self.tick()

    def tick(self) -> float:
        """Expire what is due, reconcile now and then; return the seconds until the next call is needed."""
        with self.lock:
            now = self.clock()
            changed = False
            for block in list(self.state):
                if not block.active(now) and now >= self._retry_at.get(block.network, 0.0):
                    changed = self._expire(block, now) or changed
            if now >= self._next_reconcile:
                changed = self._reconcile(now) or changed
                self._next_reconcile = now + self.config.reconcile_interval
            if changed:
                self.state.save()
            self._publish()
            upcoming = [self._next_reconcile] + [b.expires_at for b in self.state if b.active(now)]
            upcoming += [at for at in self._retry_at.values() if at > now]
            return max(MIN_WAIT, min(upcoming) - now)

    def _expire(self, block: Block, now: float) -> bool:
        network = ipaddress.ip_network(block.network)
        base = {"alertname": block.alertname, "fingerprint": block.fingerprint or None,
                "address": addresses.display(network), "dry_run": block.dry_run,
                "expires_at": rfc3339(block.expires_at)}
        errors: Dict[str, str] = {}
        if not block.dry_run:
            for name in sorted(n for n, s in block.firewalls.items() if s == "blocked"):
                driver = self.drivers.get(name)
                if driver is None:
                    continue
                try:
                    if driver.native_expiry:
                        left = driver.blocked().get(network, -1)
                        # The firewall's clock runs a moment behind (the block took time to
                        # apply); it lists whole seconds, so 0 is "under a second left": let
                        # the kernel remove it (a delete would race its timer) unless the
                        # block is long overdue.
                        if left is not None and (left > 0 or (left == 0 and now - block.expires_at < OVERDUE_SECONDS)):
                            self._retry_at[block.network] = now + min(left + 0.5, RETRY_SECONDS)
                            return False
                        if left != -1:
                            driver.unblock(network)
                    else:
                        driver.unblock(network)
                    block.firewalls[name] = "expired"
                except DriverError as exc:
                    errors[name] = str(exc)
                    self.metrics.firewall_errors.labels(name, "expire").inc()
        if errors:
            self._retry_at[block.network] = now + RETRY_SECONDS
            self._outcome("failed", base, operation="expire", errors=errors,
                          detail="the block could not be removed; retried every %ds" % RETRY_SECONDS)
            return True
        self._retry_at.pop(block.network, None)
        self.state.remove(block.network)
        self.metrics.expired.inc()
        self._outcome("expired", base, firewalls=sorted(block.firewalls) or None)
        return True

    def _reconcile(self, now: float) -> bool:
        """Re-apply active blocks a firewall has lost (a reboot, a reloaded ruleset)."""
        changed = False
        active = [b for b in self.state if b.active(now) and not b.dry_run]
        if not active:
            return False
        for name, driver in sorted(self.drivers.items()):
            wanted = [b for b in active if b.firewalls.get(name) in ("blocked", "error")]
            if not wanted:
                continue
            try:
                present = driver.blocked()
            except DriverError as exc:
                LOG.error("cannot list the blocks of firewall %s: %s", name, exc)
                self.metrics.firewall_errors.labels(name, "list").inc()
                continue
            for block in wanted:
                network = ipaddress.ip_network(block.network)
                if network in present and block.firewalls[name] == "blocked":
                    continue
                left = int(block.expires_at - now)
                if left < 1:
                    continue
                was = block.firewalls[name]
                errors = self._apply(block, network, left, [name])
                changed = True
                base = {"alertname": block.alertname, "address": addresses.display(network),
                        "dry_run": False, "expires_at": rfc3339(block.expires_at)}
                if errors:
                    self._outcome("failed", base, operation="reapply", errors=errors)
                else:
                    self._outcome("reapplied", base, firewalls=[name], ttl=left,
                                  detail="the firewall had lost it" if was == "blocked" else "retried after an error")
        return changed

    def _publish(self) -> None:
        now = self.clock()
        self.metrics.active_blocks.labels("enforced").set(self.state.count_active(now, False))
        self.metrics.active_blocks.labels("dry_run").set(self.state.count_active(now, True))

    def next_expiry(self) -> Optional[float]:
        with self.lock:
            now = self.clock()
            pending = [b.expires_at for b in self.state if b.active(now)]
            return min(pending) if pending else None
