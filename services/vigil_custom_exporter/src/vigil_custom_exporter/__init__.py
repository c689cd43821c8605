"""Vigil custom exporter: turn values from JSON HTTP APIs and commands into Prometheus gauges.

A team lists *sources* in a YAML file. A source is either an HTTP(S) endpoint that
returns JSON or a command (argv list, never a shell) that prints JSON or a bare
number. Each source lists *metrics*: a gauge name, a JMESPath query that picks one
number out of the source's document, and static labels. On every scrape the
exporter collects the sources concurrently (a bounded thread pool, each source held
to its own timeout) and answers with the gauges plus per-source health metrics:

* ``vigil_custom_source_up{source}``: 1 when the source answered with a parsable
  document, else 0 (its metrics are then absent).
* ``vigil_custom_source_duration_seconds{source}``: how long the last collection took.
* ``vigil_custom_source_last_success_timestamp_seconds{source}``: Unix time of the
  last collection that answered (absent until one has).
* ``vigil_custom_source_errors_total{source,reason}``: failures by reason. Source
  failures (up=0): ``connection``, ``timeout``, ``tls``, ``http_status`` (also any
  redirect: redirects are not followed), ``too_large`` (over 10 MiB),
  ``invalid_json``, ``invalid_number``, ``exec_failed``, ``exit_status``,
  ``internal``. A query that selects nothing (``no_value``), a non-number
  (``not_a_number``; true/false count as 1/0 and numeric strings are parsed) or that
  fails (``query_error``) skips that one metric and counts here; the source stays up.
* ``vigil_custom_exporter_build_info``, ``vigil_custom_exporter_config_last_reload_successful``
  and ``vigil_custom_exporter_config_last_reload_success_timestamp_seconds``.

A source with ``interval`` is collected in the background every ``interval`` seconds
and scrapes serve its last result (nothing until the first one); other sources are
collected on each scrape. Metric names are used verbatim (no prefix is added): they
must be valid Prometheus names and must not start with the exporter's own
``vigil_custom_source_`` or ``vigil_custom_exporter_`` prefixes. One name may appear
in several places with different label values (same help and label names). The
default listen address is ``0.0.0.0:9877``. Environment proxies are not used.

Run ``vigil-custom-exporter --config.file FILE`` (or ``python -m vigil_custom_exporter``)
to serve, ``--config.check`` to validate the file and exit 0 (valid) or 1 (message on
stderr), ``--web.config.check FILE`` to validate a web config alone, ``--version`` to
print the version. SIGHUP reloads the file (an invalid file is
logged and the running configuration kept; listen_address, max_concurrency and the
web config need a restart); SIGTERM and SIGINT stop the exporter cleanly. Under
systemd (``Type=notify``) it reports ``READY=1`` once it listens and handles SIGHUP.
Error messages never show header values or URL passwords. Requires Python 3.9+,
prometheus-client, jmespath and PyYAML; ``bcrypt`` only when the web config sets ``basic_auth_users``.

Modules: ``schema`` (what a valid configuration is; the same file is the collection's
``plugins/module_utils/custom_exporter_config.py``, which the role's preflight runs on the
controller), ``config`` (the configuration with what depends on the host: JMESPath, CA
files), ``webconfig`` (TLS and basic auth), ``sources`` (collecting one source),
``collector`` (the Prometheus collector and background polling), ``server`` (HTTP),
``cli`` (command line and life cycle).
"""

__version__ = "1.1.0"
