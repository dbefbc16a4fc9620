#!/usr/bin/python3
"""Writes the seed corpus of fuzz/fuzz_cql_frame.c into fuzz/corpus/cql_frame/.

Requests are encoded by the Cassandra Python driver's own message classes (Debian's
python3-cassandra), so the seeds are the frames a real client sends; the few forms that driver
never produces (named values, skip_metadata on QUERY, custom payloads) are built by hand with the
same helpers. Then truncated and mutated copies. The fuzz target decompresses a compressed frame
with lz4 when its stream id is even and snappy when odd, so compressed seeds follow that rule.

    /usr/bin/python3 fuzz/gen_cql_frame_corpus.py
"""

import io
import random
import struct
import uuid
from pathlib import Path

import lz4.block
import snappy
from cassandra import ConsistencyLevel
from cassandra.protocol import (AuthResponseMessage, BatchMessage, ExecuteMessage, OptionsMessage,
                                PrepareMessage, ProtocolHandler, QueryMessage, RegisterMessage,
                                StartupMessage, write_consistency_level, write_longstring,
                                write_short, write_string, write_value)
from cassandra.query import BatchType

OUT = Path(__file__).resolve().parent / "corpus" / "cql_frame"
V4 = 4


def lz4_compress(body):
    # Cassandra's lz4 body: a big-endian uncompressed length, then the raw block.
    return struct.pack(">I", len(body)) + lz4.block.compress(body, store_size=False)


def encode(msg, stream=0, compressor=None):
    return ProtocolHandler.encode_message(msg, stream, V4, compressor, False)


def raw(opcode, body, stream=0, flags=0, version=V4):
    return struct.pack(">BBhBI", version, flags, stream, opcode, len(body)) + body


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = {}
    q = "INSERT INTO spark_streams.created_users (id, first_name) VALUES (?, ?)"
    uid = uuid.UUID("5b6962dd-3f90-4c93-8f61-eabfa4a803e2").bytes
    qid = bytes(range(16))

    seeds["options"] = encode(OptionsMessage())
    seeds["startup"] = encode(StartupMessage(cqlversion="3.4.5", options={
        "DRIVER_NAME": "DataStax Python Driver", "DRIVER_VERSION": "3.25.0"}))
    for algo in ("lz4", "snappy"):
        seeds["startup_" + algo] = encode(StartupMessage(cqlversion="3.0.0", options={
            "COMPRESSION": algo}), stream=1)
    seeds["auth_response"] = encode(AuthResponseMessage(b"\x00cassandra\x00cassandra"), stream=2)
    seeds["register"] = encode(RegisterMessage(
        ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]), stream=3)
    seeds["query_plain"] = encode(QueryMessage("SELECT * FROM system.local WHERE key='local'",
                                               ConsistencyLevel.ONE))
    seeds["query_paged_ts"] = encode(QueryMessage(
        "SELECT * FROM system_schema.tables", ConsistencyLevel.LOCAL_ONE, fetch_size=5000,
        timestamp=1700000000000000), stream=4)
    seeds["query_paging_state"] = encode(QueryMessage(
        "SELECT * FROM t", ConsistencyLevel.LOCAL_ONE, fetch_size=1000,
        paging_state=b"\x00\x10opaque-state"), stream=6)
    seeds["query_serial"] = encode(QueryMessage(
        "INSERT INTO t (a) VALUES (1) IF NOT EXISTS", ConsistencyLevel.QUORUM,
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL), stream=8)
    seeds["prepare"] = encode(PrepareMessage(q), stream=10)
    seeds["execute"] = encode(ExecuteMessage(qid, [uid, b"Ada"], ConsistencyLevel.LOCAL_QUORUM,
                                             fetch_size=5000, timestamp=1, skip_meta=True),
                              stream=12)
    seeds["execute_null_unset"] = encode(ExecuteMessage(qid, [uid, None],
                                                        ConsistencyLevel.ONE), stream=14)
    seeds["batch_logged"] = encode(BatchMessage(BatchType.LOGGED, [
        (False, q, [uid, b"Ada"]), (True, qid, [uid, b"Grace"]),
        (False, "DELETE FROM t WHERE a = 1", [])], ConsistencyLevel.ONE), stream=16)
    seeds["batch_unlogged_ts_serial"] = encode(BatchMessage(
        BatchType.UNLOGGED, [(True, qid, [uid, b"x"])], ConsistencyLevel.LOCAL_QUORUM,
        serial_consistency_level=ConsistencyLevel.SERIAL, timestamp=42), stream=18)
    seeds["batch_counter"] = encode(BatchMessage(
        BatchType.COUNTER, [(False, "UPDATE c SET n = n + 1 WHERE k = 1", [])],
        ConsistencyLevel.ONE), stream=20)

    # Forms the driver does not send: QUERY with values, skip_metadata and named values.
    for flags in (0x01, 0x02, 0x41, 0x7f):
        f = io.BytesIO()
        write_longstring(f, "SELECT * FROM t WHERE a = :a AND b = :b")
        write_consistency_level(f, ConsistencyLevel.LOCAL_ONE)
        f.write(bytes([flags]))
        if flags & 0x01:
            write_short(f, 2)
            for name, val in (("a", b"\x00\x00\x00\x01"), ("b", None)):
                if flags & 0x40:
                    write_string(f, name)
                write_value(f, val)
        if flags & 0x04:
            f.write(struct.pack(">i", 100))
        if flags & 0x08:
            write_value(f, b"state")
        if flags & 0x10:
            write_consistency_level(f, ConsistencyLevel.SERIAL)
        if flags & 0x20:
            f.write(struct.pack(">q", 123456789))
        seeds[f"query_flags_{flags:02x}"] = raw(0x07, f.getvalue(), stream=22)
    # A custom payload ahead of a QUERY body, and the tracing flag.
    payload = struct.pack(">H", 1) + struct.pack(">H", 3) + b"key" + struct.pack(">i", 2) + b"vv"
    body = encode(QueryMessage("SELECT 1 FROM t", ConsistencyLevel.ONE))[9:]
    seeds["query_custom_payload_tracing"] = raw(0x07, payload + body, stream=24, flags=0x06)

    # Compressed requests, as the driver sends them after STARTUP negotiated compression.
    seeds["query_lz4"] = encode(QueryMessage("SELECT * FROM system.peers", ConsistencyLevel.ONE),
                                stream=30, compressor=lz4_compress)
    seeds["execute_lz4"] = encode(ExecuteMessage(qid, [uid, b"Ada" * 100], ConsistencyLevel.ONE),
                                  stream=32, compressor=lz4_compress)
    seeds["query_snappy"] = encode(QueryMessage("SELECT * FROM system.peers_v2",
                                                ConsistencyLevel.ONE),
                                   stream=31, compressor=snappy.compress)
    seeds["batch_snappy"] = encode(BatchMessage(BatchType.LOGGED, [(False, q, [uid, b"A"])] * 20,
                                                ConsistencyLevel.ONE),
                                   stream=33, compressor=snappy.compress)

    # A pipelined connection: several frames back to back.
    seeds["pipeline"] = (seeds["options"] + seeds["startup"] + seeds["auth_response"]
                         + seeds["register"] + seeds["query_paged_ts"] + seeds["execute"])

    # Responses, which the client side of the codec decodes.
    supported = io.BytesIO()
    write_short(supported, 2)
    for k, vs in (("CQL_VERSION", ["3.4.5"]), ("COMPRESSION", ["lz4", "snappy"])):
        write_string(supported, k)
        write_short(supported, len(vs))
        for v in vs:
            write_string(supported, v)
    seeds["resp_supported"] = raw(0x06, supported.getvalue(), version=0x84)
    seeds["resp_error"] = raw(0x00, struct.pack(">i", 0x2200) + struct.pack(">H", 5) + b"nope!",
                              version=0x84)
    seeds["resp_event"] = raw(0x0C, b"".join(struct.pack(">H", len(s)) + s for s in (
        b"SCHEMA_CHANGE", b"CREATED", b"TABLE", b"ks", b"t")), stream=-1, version=0x84)

    # Bad frames: other versions, the response bit, a negative length, unknown opcodes.
    seeds["bad_version_v5"] = raw(0x05, b"", version=5)
    seeds["bad_version_dse"] = raw(0x05, b"", stream=7, version=0x42)
    seeds["bad_version_v2"] = b"\x02\x00\x01\x05\x00\x00\x00\x00"
    seeds["bad_response_bit"] = raw(0x07, b"", version=0x84)
    seeds["bad_negative_length"] = struct.pack(">BBhBi", 4, 0, 0, 7, -5)
    seeds["bad_opcode"] = raw(0x33, b"abc")
    seeds["bad_lz4_length"] = raw(0x07, b"\x7f\xff\xff\xff\x00", stream=2, flags=0x01)
    seeds["bad_snappy"] = raw(0x07, b"\xff\xff\xff\xff\x0f\x00", stream=3, flags=0x01)

    rng = random.Random(4)
    base = [k for k in seeds if not k.startswith(("bad_", "pipeline"))]
    for k in base:
        frame = seeds[k]
        # Truncated bodies whose header still claims the full length, and headers whose
        # length matches the cut body.
        cut = rng.randrange(9, len(frame)) if len(frame) > 10 else 9
        seeds[f"trunc_{k}"] = frame[:cut]
        seeds[f"short_{k}"] = frame[:5] + struct.pack(">I", cut - 9) + frame[9:cut]
        m = bytearray(frame)
        for _ in range(3):
            i = rng.randrange(9, len(m)) if len(m) > 9 else 4
            m[i] = rng.randrange(256)
        seeds[f"mut_{k}"] = bytes(m)

    for old in OUT.iterdir():
        old.unlink()
    for name, data in sorted(seeds.items()):
        (OUT / f"{name}.bin").write_bytes(data)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
