"""`sluice ingest --stage postgresql://...` (issue 5, seed 003's staging) against a real PostgreSQL
(conftest's postgres/pg_db fixtures), `sluice fake-api` and `sluice broker`: each raw API user is
written to the stage table first, produced from that table, and marked sent only after its
delivery report. SIGKILLs of ingest at random moments followed by re-runs lose nothing: in the
end every user of the seeded pages is staged exactly once, every staged row is sent, and the
topic holds each staged id (a record sent again after a crash between its delivery report and
its mark is the same record, byte for byte). Also: --count 0 sends only what is staged; a broker
failure leaves rows unsent for the next run; one ingest per stage table; a stage that cannot be
reached. Records are read back with python3-confluent-kafka, rows with python3-psycopg2."""

import json
import random
import time

import psycopg2
import pytest

import ingest_util as iu
import pipeline_util as pu
import sluice_harness as sh

TABLE = "sluice_ingest_stage"


@pytest.fixture
def stack(sluice_proc):
    return sluice_proc("fake-api"), sluice_proc("broker")


def q(pg_db, sql, *args):
    conn = psycopg2.connect(pg_db.dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def stage_rows(pg_db, table=TABLE):
    """[(seq, job, topic, id, raw user, sent)] in seq order."""
    return [(seq, job, topic, str(id_), json.loads(raw), sent) for seq, job, topic, id_, raw, sent
            in q(pg_db, f"SELECT seq, job, topic, id, raw::text, sent_at IS NOT NULL FROM {table} "
                        "ORDER BY seq")]


def counts(pg_db, table=TABLE):
    try:
        (n, sent), = q(pg_db, f"SELECT count(*), count(sent_at) FROM {table}")
    except psycopg2.errors.UndefinedTable:
        return 0, 0
    return n, sent


def check_topic_matches_stage(broker, rows, topic=pu.TOPIC):
    """Each staged row is in the topic, as its flattened form keyed by its id; nothing else is;
    a row sent twice was sent identically. Returns the number of duplicate records."""
    got = iu.consume_all(broker, topic)
    by_id = {}
    for _, _, k, v in got:
        rec = iu.check_record(k, v)
        if rec["id"] in by_id:
            assert by_id[rec["id"]] == rec, f"{rec['id']} sent twice with different values"
        by_id[rec["id"]] = rec
    staged = {r[3]: r[4] for r in rows}
    assert len(staged) == len(rows), "an id staged twice"
    assert set(by_id) == set(staged), (f"{len(set(staged) - set(by_id))} staged ids not in the "
                                       f"topic, {len(set(by_id) - set(staged))} ids not staged")
    for id_, raw in staged.items():
        assert by_id[id_] == iu.expected(raw, id_), id_
    return len(got) - len(by_id)


def test_stage_then_produce(stack, pg_db):
    api, broker = stack
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "st-1"), "--stage", pg_db.url, "--count",
                        1000, "--batch", 100))
    rows = stage_rows(pg_db)
    assert len(rows) == 1000 and all(sent for *_, sent in rows)
    # The raw users, as the API sent them, in the order of the seeded pages.
    assert [r[4] for r in rows] == pu.fetch_users(api, "st-1", 1000, 100)
    assert {r[2] for r in rows} == {pu.TOPIC}
    assert check_topic_matches_stage(broker, rows) == 0
    (job,) = q(pg_db, f"SELECT source, topic, target, fetched, next_page, finished_at IS NOT NULL "
                      f"FROM {TABLE}_jobs")
    assert job == (pu.source_url(api, "st-1"), pu.TOPIC, 1000, 1000, 11, True)
    assert iu.summary(r)["delivered"] == 1000
    # A second run with the same arguments is a new job: 1000 more users (pages 1-10 again, as
    # without a stage; new ids).
    iu.ok(iu.ingest(broker, pu.source_url(api, "st-1"), "--stage", pg_db.url, "--count", 1000,
                    "--batch", 100))
    assert counts(pg_db) == (2000, 2000)
    assert q(pg_db, f"SELECT count(*) FROM {TABLE}_jobs WHERE finished_at IS NOT NULL") == [(2,)]


def test_sigkill_mid_run_then_rerun_loses_nothing(sluice_proc, stack, pg_db):
    """Three SIGKILLs at random moments of a 6000-user job, each followed by a re-run with the
    same arguments, which resumes the job; the last run finishes it."""
    api, broker = stack
    N, BATCH = 6000, 200
    args = ["--source", pu.source_url(api, "st-kill"), "--kafka", broker.addr, "--stage",
            pg_db.url, "--count", N, "--batch", BATCH, "--rate", 3000]
    rng = random.Random(5)
    windows = 0
    for i in range(3):
        ing = sluice_proc("ingest", listen=False, args=args, check_exit=False)
        before = counts(pg_db)[0]
        # Kill once this run has staged a little more, at a random point in a page's life.
        target = min(N - 400, before + rng.randrange(300, 1500))
        sh.wait_until(lambda: counts(pg_db)[0] >= target or not ing.running, sh.scaled(30),
                      interval=0.02, what=f"{target} staged")
        time.sleep(rng.random() * 0.3)
        assert ing.running, ing.log_text()[-2000:]
        ing.kill9()
        n, sent = counts(pg_db)
        windows += n > sent  # rows staged but not (yet) marked sent at the kill
        if i:
            assert "resuming job" in ing.log_text()
    assert windows >= 1, "no kill fell between staging and marking sent"
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "st-kill"), "--stage", pg_db.url, "--count",
                        N, "--batch", BATCH))
    assert "resuming job" in r.stderr
    rows = stage_rows(pg_db)
    assert all(sent for *_, sent in rows)
    # Every user of pages 1..30 staged once, in order: no page lost, none staged twice.
    assert [r[4] for r in rows] == pu.fetch_users(api, "st-kill", N, BATCH)
    assert len({r[1] for r in rows}) == 1  # one job across the four runs
    dups = check_topic_matches_stage(broker, rows)
    assert dups < N // 2


def test_count_zero_sends_what_is_staged(sluice_proc, stack, pg_db):
    api, broker = stack
    ing = sluice_proc("ingest", listen=False, check_exit=False, args=[
        "--source", pu.source_url(api, "st-zero"), "--kafka", broker.addr, "--stage", pg_db.url,
        "--count", 100000, "--batch", 500, "--rate", 5000])
    sh.wait_until(lambda: counts(pg_db)[0] >= 1500, sh.scaled(20), interval=0.02,
                  what="1500 staged")
    ing.kill9()
    n, _ = counts(pg_db)
    r = iu.ok(iu.ingest(broker, "http://127.0.0.1:9/unused", "--stage", pg_db.url, "--count", 0))
    assert iu.summary(r)["fetched"] == 0
    rows = stage_rows(pg_db)
    assert len(rows) == n and all(sent for *_, sent in rows)
    check_topic_matches_stage(broker, rows)
    # The killed job stays unfinished (a re-run with its arguments resumes it); no job was added.
    assert q(pg_db, f"SELECT count(*), count(finished_at) FROM {TABLE}_jobs") == [(1, 0)]


def test_duration_with_stage(stack, pg_db):
    api, broker = stack
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "st-dur"), "--stage", pg_db.url + "?table=dur",
                        "--duration", "2s", "--batch", 100, "--rate", 1000))
    rows = stage_rows(pg_db, "dur")
    assert len(rows) == iu.summary(r)["delivered"] > 1000
    assert all(sent for *_, sent in rows)
    check_topic_matches_stage(broker, rows)
    assert q(pg_db, "SELECT target, finished_at IS NOT NULL FROM dur_jobs") == [(None, True)]


def test_broker_down_rows_wait_for_the_next_run(sluice_proc, stack, pg_db):
    api, broker = stack
    ing = sluice_proc("ingest", listen=False, check_exit=False, args=[
        "--source", pu.source_url(api, "st-down"), "--kafka", broker.addr, "--stage", pg_db.url,
        "--count", 8000, "--batch", 500, "--rate", 4000, "--delivery-timeout", "2s"])
    sh.wait_until(lambda: counts(pg_db)[1] >= 1000, sh.scaled(20), interval=0.02,
                  what="1000 sent")
    broker.kill9()
    assert ing.wait(timeout=40) == 1
    n, sent = counts(pg_db)
    assert n > sent, (n, sent)  # staged, not delivered: kept for later
    broker.start()
    iu.ok(iu.ingest(broker, pu.source_url(api, "st-down"), "--stage", pg_db.url, "--count", 8000,
                    "--batch", 500))
    rows = stage_rows(pg_db)
    assert len(rows) == 8000 and all(sent for *_, sent in rows)
    assert [r[4] for r in rows] == pu.fetch_users(api, "st-down", 8000, 500)
    check_topic_matches_stage(broker, rows)


def test_one_ingest_per_stage_table(sluice_proc, stack, pg_db):
    api, broker = stack
    first = sluice_proc("ingest", listen=False, args=[
        "--source", pu.source_url(api, "st-lock"), "--kafka", broker.addr, "--stage", pg_db.url,
        "--count", 100000, "--batch", 100, "--rate", 500])
    sh.wait_until(lambda: counts(pg_db)[0] > 0, sh.scaled(20), what="first ingest staging")
    r = iu.ingest(broker, pu.source_url(api, "st-lock"), "--stage", pg_db.url, "--count", 10)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == \
        f"sluice ingest: stage: table {TABLE} is in use by another sluice ingest"
    # Another table is another outbox.
    iu.ok(iu.ingest(broker, pu.source_url(api, "st-lock"), "--stage", pg_db.url + "?table=other",
                    "--count", 10))
    assert first.stop() == 0


def test_stage_errors(stack, pg_db, free_port):
    api, broker = stack
    url = pu.source_url(api, "st-err")
    r = iu.ingest(broker, url, "--stage", f"postgresql://postgres@127.0.0.1:{free_port()}/x",
                  "--count", 10)
    assert r.returncode == 1
    assert "sluice ingest: stage: cannot connect: " in r.stderr.strip().splitlines()[-1]
    r = iu.ingest(broker, url, "--stage", pg_db.url + "?table=Bad-Name", "--count", 10)
    assert r.returncode == 1
    assert "table name must be 1-48 characters of a-z, 0-9 and _" in r.stderr
    # The password never reaches the log.
    r = iu.ingest(broker, url, "--stage", f"postgresql://postgres:s3cret@127.0.0.1:"
                                          f"{free_port()}/x", "--count", 10)
    assert r.returncode == 1 and "s3cret" not in r.stderr
