"""Prometheus metrics of the responder (``/metrics``): counts, never addresses."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from vigil_responder import __version__


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        info = Gauge("vigil_responder_build_info", "Version of the responder.", ["version"], registry=registry)
        info.labels(__version__).set(1)
        self.dry_run = Gauge("vigil_responder_dry_run", "1 while decisions are only logged (dry run).",
                             registry=registry)
        self.max_active_blocks = Gauge("vigil_responder_max_active_blocks", "Configured limit of active blocks.",
                                       registry=registry)
        self.active_blocks = Gauge("vigil_responder_active_blocks", "Blocks in force (mode=enforced) or "
                                   "simulated (mode=dry_run).", ["mode"], registry=registry)
        self.requests = Counter("vigil_responder_webhook_requests", "Webhook requests, by result (accepted, "
                                "unauthorized, too_large, bad_request, queue_full, busy, ...).", ["result"],
                                registry=registry)
        self.decisions = Counter("vigil_responder_decisions", "Decisions on alerts, by outcome (applied, dry_run, "
                                 "refused, unchanged, extended, kept, unblocked, failed, ...).", ["outcome"],
                                 registry=registry)
        self.refusals = Counter("vigil_responder_refusals", "Refused alerts, by reason.", ["reason"],
                                registry=registry)
        self.expired = Counter("vigil_responder_expired_blocks", "Blocks that reached the end of their TTL.",
                               registry=registry)
        self.firewall_errors = Counter("vigil_responder_firewall_errors", "Failed firewall operations.",
                                       ["firewall", "operation"], registry=registry)
        self.audit_errors = Counter("vigil_responder_audit_write_errors", "Audit lines that could not be "
                                    "written to the file (they went to the journal).", registry=registry)
        self.queue_length = Gauge("vigil_responder_queue_length", "Notifications waiting for the worker.",
                                  registry=registry)
