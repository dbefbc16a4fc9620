"""issue 11, security: TLS on an HTTP listener (the registry's --tls-cert/--tls-key, through
src/web/http.c, so any HTTP component can take it), with verification on.

A CA and a server certificate for 127.0.0.1 and localhost are made with the openssl CLI. requests
with verify=CA, curl --cacert, and SchemaRegistryClient with ssl.ca.location all connect and
check the certificate; a client trusting another CA is refused; plain HTTP on the TLS port gets
no answer; a missing key stops the start."""

import subprocess

import pytest
import requests
from confluent_kafka.schema_registry import SchemaRegistryClient

import registry_util as ru
import sluice_harness as sh
import tls_util as tu


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tu.make_certs(tmp_path_factory.mktemp("tls"))


def test_registry_https_verified(sluice_proc, certs, monkeypatch):
    # requests lets $REQUESTS_CA_BUNDLE override a session's verify (requests issue 3829), which
    # would make SchemaRegistryClient ignore ssl.ca.location here.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    _, reg = ru.start(sluice_proc, args=["--tls-cert", certs / "server.pem", "--tls-key",
                                         certs / "server.key"])
    base = f"https://{reg.addr}"
    r = requests.post(base + "/subjects/t-value/versions", json={"schema": '"string"'},
                      headers={"Content-Type": ru.CT}, verify=str(certs / "ca.pem"))
    assert r.status_code == 200 and r.json() == {"id": 1}, r.text
    r = requests.get(f"https://localhost:{reg.port}/subjects", verify=str(certs / "ca.pem"))
    assert r.json() == ["t-value"]
    c = subprocess.run(["curl", "-sS", "--cacert", str(certs / "ca.pem"), base + "/subjects"],
                       capture_output=True, text=True, timeout=sh.scaled(20))
    assert c.returncode == 0 and c.stdout.strip() == '["t-value"]', c.stderr
    src = SchemaRegistryClient({"url": base, "ssl.ca.location": str(certs / "ca.pem")})
    assert src.get_subjects() == ["t-value"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(base + "/subjects", verify=str(certs / "otherca.pem"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{reg.addr}/subjects", timeout=sh.scaled(5))
    assert "listening on https://" in reg.log_text()
    # Still serving after the refused clients.
    assert requests.get(base + "/subjects", verify=str(certs / "ca.pem")).json() == ["t-value"]


def test_bad_tls_config(sluice_proc, certs):
    broker = sluice_proc("broker")
    for args, why in ((["--tls-cert", certs / "server.pem"], "tls-cert and tls-key go together"),
                      (["--tls-cert", certs / "server.pem", "--tls-key", certs / "missing.key"],
                       "missing.key: No such file"),
                      (["--tls-cert", certs / "server.key", "--tls-key", certs / "server.pem"],
                       f"tls-cert {certs / 'server.key'}: error:")):
        r = sh.run_sluice("registry", "--listen", f"127.0.0.1:{sh.free_port()}", "--kafka",
                          broker.addr, *args)
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)
