"""kibana with install method none: kibana.yml as Kibana would read it, checked on the host.

Nothing here ran Kibana: the file is parsed as YAML on the host and its values checked.
"""

from vigil_testinfra import host_yaml, is_deb12, sibling

CONFIG = "/etc/kibana/kibana.yml"
TOKEN = "AAEAAWVsYXN0aWMva2liYW5hL3ZpZ2lsLWxhYjpWSUdJTC1NQVJLRVIta2liYW5hLXRva2VuLXNlY3JldC0wMTIz"


def test_kibana_yml_is_private(host):
    f = host.file(CONFIG)
    assert (f.user, f.group, f.mode) == ("root", "kibana", 0o640)
    d = host.file("/etc/kibana")
    assert (d.user, d.group, d.mode) == ("root", "kibana", 0o2750)


def test_encryption_keys_and_token(host):
    conf = host_yaml(host, CONFIG)
    assert conf["xpack.encryptedSavedObjects.encryptionKey"] == "VIGIL-MARKER-saved-objects-key-0123456789abcdef"
    assert conf["xpack.security.encryptionKey"] == "VIGIL-MARKER-security-key-0123456789abcdef01"
    assert conf["xpack.reporting.encryptionKey"] == "VIGIL-MARKER-reporting-key-0123456789abcdef0"
    assert conf["elasticsearch.serviceAccountToken"] == TOKEN
    assert "elasticsearch.username" not in conf and "elasticsearch.password" not in conf


def test_elasticsearch_connection_is_verified_tls(host):
    conf = host_yaml(host, CONFIG)
    assert conf["elasticsearch.ssl.verificationMode"] == "full"
    lab_ca = host.file("/etc/vigil/tls/ca.crt").content
    if is_deb12(host):
        assert conf["elasticsearch.hosts"] == [f"https://{sibling(host, 'deb12')}:9200"]
        # the CA came from the first Elasticsearch node, through the controller
        assert conf["elasticsearch.ssl.certificateAuthorities"] == ["/etc/kibana/tls/elasticsearch-ca.crt"]
        assert host.file("/etc/kibana/tls/elasticsearch-ca.crt").content == lab_ca
    else:
        assert conf["elasticsearch.hosts"] == ["https://es.lab.invalid:9200"]
        assert conf["elasticsearch.ssl.certificateAuthorities"] == ["/etc/vigil/tls/ca.crt"]


def test_server_tls_only_where_configured(host):
    conf = host_yaml(host, CONFIG)
    if is_deb12(host):
        assert conf["server.ssl.enabled"] is True
        assert conf["server.ssl.certificate"] == "/etc/vigil/tls/host.crt"
        assert conf["server.publicBaseUrl"].startswith("https://")
        assert conf["server.maxPayload"] == 2097152
        assert conf["xpack.fleet.fleetServerHosts"][0]["host_urls"] == [f"https://{sibling(host, 'deb13')}:8220"]
    else:
        assert "server.ssl.enabled" not in conf
        assert conf["server.publicBaseUrl"].startswith("http://")


def test_user_and_directories_as_the_package_makes_them(host):
    user = host.user("kibana")
    assert user.group == "kibana"
    for path in ("/var/lib/kibana", "/var/log/kibana"):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("kibana", "kibana", 0o750)
