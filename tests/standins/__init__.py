"""Stand-ins: programs and in-process servers that play the vendor software and external
systems Vigil talks to, following their documented behaviour. One home for all of them,
used by the unit and functional tests, the Molecule scenarios and the lab
(``tests`` is on pytest's ``pythonpath``: ``from standins.elastic import FakeElasticsearch``).

In-process HTTP fakes for module tests (``base.FakeApi``): a fake's
``handle(method, path, query, headers, body)`` returns ``(status, json_body)``
following the vendor's documented behaviour. It runs on 127.0.0.1 on a free port in a
daemon thread and records every request, so tests can assert both what the module
returned and what it sent (for example that no PUT was made on a no-op run):
``elastic`` (Elasticsearch, Kibana; ``elastic_security`` users, roles, API keys;
``spec_check`` with ``spec/`` the vendor's request schemas), ``grafana``, ``opencti``,
``opnsense``; ``kibana_actions`` renders and schedules Kibana rule actions as Kibana does.

Programs the lab and the Molecule scenarios install on hosts (standard library only):
``fake_elasticsearch.py`` (the Elasticsearch fake served over HTTPS),
``fake_firewall_api.py`` (a firewall's JSON status API), ``webhook_recorder.py`` (pagers,
chats, tickets), ``es_standin.py`` (Elasticsearch's REST calls during a rolling upgrade,
behind fake packages), ``grafana_standin.py`` (``grafana cli plugins`` and the
provisioning reload API). The playbooks that install them are in lab/playbooks (and the
scenarios' prepare steps).
"""
