"""Certificates for the TLS tests, made with the openssl CLI: two CAs ("ca", "otherca"), a server
certificate signed by "ca" for 127.0.0.1 and localhost, and a client certificate signed by "ca"
(for listeners that require one)."""

import subprocess


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", cwd=d)


def make_signed(d, name, cn, ext):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    (d / f"{name}.cnf").write_text(ext + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.cnf",
            cwd=d)


def make_certs(d):
    """Writes ca.pem, otherca.pem, server.pem/.key and client.pem/.key into d; returns d."""
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_signed(d, "server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    make_signed(d, "client", "alice", "extendedKeyUsage=clientAuth")
    return d
