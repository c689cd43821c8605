"""Vigil responder: Alertmanager webhooks in, temporary firewall blocks out, behind guard rails.

Modules: ``config`` (the YAML configuration and the web config), ``addresses`` (strict
address parsing and the allowlist), ``engine`` (the decisions), ``state`` (active blocks
kept across restarts), ``audit`` (the JSON-lines audit log), ``drivers`` (firewalls:
nftables on the host, vendor APIs), ``server`` (the webhook endpoint and ``/metrics``),
``cli`` (the command line and the service's life cycle).
"""

__version__ = "0.1.0"
