"""Helpers for the registry tests (0500-0539): a broker with one or more `sluice registry`
instances over it, and a small REST client that speaks Confluent's content type."""

import json

import requests

import sluice_harness as sh

CT = "application/vnd.schemaregistry.v1+json"


def start(sluice_proc, broker=None, name="registry", args=()):
    """Starts a broker (unless given) and a registry over it; returns (broker, registry)."""
    if broker is None:
        broker = sluice_proc("broker")
    reg = sluice_proc("registry", name=name, ready_timeout=30,
                      args=["--kafka", broker.addr, *args])
    return broker, reg


def url(reg):
    return f"http://{reg.addr}"


def call(reg, method, path, body=None, ctype=CT, raw=None, **params):
    """One request; returns (status, parsed JSON body or text)."""
    headers = {"Accept": CT}
    data = raw
    if body is not None:
        data = json.dumps(body)
    if data is not None and ctype:
        headers["Content-Type"] = ctype
    r = requests.request(method, url(reg) + path, data=data, headers=headers, params=params,
                         timeout=sh.scaled(20))
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def record(fields, name="User"):
    return json.dumps({"type": "record", "name": name, "namespace": "io.sluice",
                       "fields": fields})


USER_V1 = record([{"name": "id", "type": "string"}, {"name": "age", "type": "int"}])
USER_V2 = record([{"name": "id", "type": "string"}, {"name": "age", "type": "long"},
                  {"name": "email", "type": ["null", "string"], "default": None}])
USER_BAD = record([{"name": "id", "type": "string"}, {"name": "age", "type": "int"},
                   {"name": "email", "type": "string"}])
