"""sluice fake-api: randomuser.me 1.4's response shape and parameters over real HTTP (requests):
every field of every one of the 21 nationalities, determinism, results bounds, gender, nat
lists, inc/exc/noinfo and format=csv."""

import csv
import hashlib
import io
import re

import pytest
import requests

import sluice_harness as sh

NATS = ["AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IN", "IR", "MX",
        "NL", "NO", "NZ", "RS", "TR", "UA", "US"]
COUNTRIES = {"AU": "Australia", "BR": "Brazil", "CA": "Canada", "CH": "Switzerland",
             "DE": "Germany", "DK": "Denmark", "ES": "Spain", "FI": "Finland", "FR": "France",
             "GB": "United Kingdom", "IE": "Ireland", "IN": "India", "IR": "Iran",
             "MX": "Mexico", "NL": "Netherlands", "NO": "Norway", "NZ": "New Zealand",
             "RS": "Serbia", "TR": "Turkey", "UA": "Ukraine", "US": "United States"}
FIELDS = ["gender", "name", "location", "email", "login", "dob", "registered", "phone", "cell",
          "id", "picture", "nat"]
# How each nationality writes its postcode: an int range or a string pattern.
POSTCODE = {"AU": (200, 9999), "CH": (1000, 9999), "DK": (1000, 9999), "NZ": (1000, 9999),
            "IN": (100000, 999999), "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d", "GB": r"[A-Z]\d\d \d[A-Z]{2}",
            "NL": r"[1-9]\d{3} [A-Z]{2}", "NO": r"\d{4}"}
ID_FORMAT = {"AU": ("TFN", r"\d{9}"), "BR": ("CPF", r"\d{3}\.\d{3}\.\d{3}-\d{2}"),
             "CA": ("SIN", r"\d{9}"), "CH": ("AVS", r"756\.\d{4}\.\d{4}\.\d{2}"),
             "DE": ("SVNR", r"\d\d \d{6} [A-Z] \d{3}"), "DK": ("CPR", r"\d{6}-\d{4}"),
             "ES": ("DNI", r"\d{8}-[A-Z]"), "FI": ("HETU", r"\d{6}-\d{3}[A-Z]"),
             "FR": ("INSEE", r"[1-9]\d{12} \d\d"), "GB": ("NINO", r"[A-Z]{2} \d\d \d\d \d\d [A-Z]"),
             "IE": ("PPS", r"\d{7}[A-Z]"), "IN": ("UIDAI", r"[1-9]\d{11}"),
             "MX": ("NSS", r"\d\d \d\d \d\d \d{4} \d"), "NL": ("BSN", r"\d{8}"),
             "NO": ("FN", r"\d{11}"), "RS": ("SID", r"\d{9}"), "US": ("SSN", r"\d{3}-\d\d-\d{4}"),
             "IR": ("", None), "NZ": ("", None), "TR": ("", None), "UA": ("", None)}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
REF_YEAR = 2026  # ages are counted to 2026-01-01T00:00:00Z (docs/fake-api.md)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    p = sh.SluiceProcess("fake-api", tmp_path_factory.mktemp("fakeapi"))
    p.start()
    yield f"http://{p.addr}"
    problems = p.cleanup()
    assert not problems, problems


def get(api, path="/api/", timeout=sh.scaled(10), **params):
    r = requests.get(api + path, params=params, timeout=timeout)
    return r


def check_user(u, nat=None):
    assert list(u) == FIELDS
    n = u["nat"]
    assert n in NATS and (nat is None or n == nat)
    assert u["gender"] in ("male", "female")
    name = u["name"]
    assert list(name) == ["title", "first", "last"]
    if u["gender"] == "male":
        assert name["title"] == "Mr"
    else:
        assert name["title"] in ("Miss", "Mrs", "Ms")
    assert name["first"] and name["last"]
    loc = u["location"]
    assert list(loc) == ["street", "city", "state", "country", "postcode", "coordinates",
                         "timezone"]
    assert isinstance(loc["street"]["number"], int) and 1 <= loc["street"]["number"] <= 9999
    assert isinstance(loc["street"]["name"], str) and loc["street"]["name"]
    assert loc["city"] and loc["state"]
    assert loc["country"] == COUNTRIES[n]
    rule = POSTCODE.get(n, (10000, 99999))
    if isinstance(rule, tuple):
        assert isinstance(loc["postcode"], int) and rule[0] <= loc["postcode"] <= rule[1], loc
    else:
        assert isinstance(loc["postcode"], str) and re.fullmatch(rule, loc["postcode"]), loc
    lat, lon = loc["coordinates"]["latitude"], loc["coordinates"]["longitude"]
    assert re.fullmatch(r"-?\d{1,2}\.\d{4}", lat) and -90 <= float(lat) <= 90
    assert re.fullmatch(r"-?\d{1,3}\.\d{4}", lon) and -180 <= float(lon) <= 180
    assert re.fullmatch(r"[+-]?\d{1,2}:\d\d", loc["timezone"]["offset"])
    assert loc["timezone"]["description"]
    assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+@example\.com", u["email"]), u["email"]
    lg = u["login"]
    assert list(lg) == ["uuid", "username", "password", "salt", "md5", "sha1", "sha256"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        lg["uuid"])
    assert re.fullmatch(r"[a-z]+[a-z]+\d{3}", lg["username"])
    assert re.fullmatch(r"[A-Za-z0-9]{8}", lg["salt"])
    ps = (lg["password"] + lg["salt"]).encode()
    assert lg["md5"] == hashlib.md5(ps).hexdigest()
    assert lg["sha1"] == hashlib.sha1(ps).hexdigest()
    assert lg["sha256"] == hashlib.sha256(ps).hexdigest()
    for k in ("dob", "registered"):
        assert list(u[k]) == ["date", "age"] and ISO.fullmatch(u[k]["date"])
        y = int(u[k]["date"][:4])
        assert u[k]["age"] in (REF_YEAR - y, REF_YEAR - y - 1)
    assert u["dob"]["age"] >= 21
    assert u["registered"]["date"] >= "2002-03-21"
    assert u["phone"] and u["cell"] and re.fullmatch(r"[0-9() +-]+", u["phone"])
    idn, idre = ID_FORMAT[n]
    assert u["id"]["name"] == idn
    if idre is None:
        assert u["id"]["value"] is None
    else:
        assert re.fullmatch(idre, u["id"]["value"]), u["id"]
    sex = "women" if u["gender"] == "female" else "men"
    m = re.fullmatch(r"https://randomuser\.me/api/portraits/" + sex + r"/(\d+)\.jpg",
                     u["picture"]["large"])
    assert m and 0 <= int(m.group(1)) <= 99
    num = m.group(1)
    assert u["picture"]["medium"] == f"https://randomuser.me/api/portraits/med/{sex}/{num}.jpg"
    assert u["picture"]["thumbnail"] == f"https://randomuser.me/api/portraits/thumb/{sex}/{num}.jpg"


@pytest.mark.parametrize("nat", NATS)
def test_every_field_of_every_nationality(api, nat):
    r = get(api, results=200, nat=nat.lower(), seed=f"shape-{nat}")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["results", "info"]
    assert body["info"] == {"seed": f"shape-{nat}", "results": 200, "page": 1, "version": "1.4"}
    assert len(body["results"]) == 200
    for u in body["results"]:
        check_user(u, nat)
    # Both genders and several distinct names show up in 200 users.
    assert {u["gender"] for u in body["results"]} == {"male", "female"}
    assert len({u["name"]["first"] for u in body["results"]}) >= 8


def test_paths_and_default(api):
    for path in ("/api/", "/api", "/api/1.4/", "/api/1.4"):
        r = get(api, path)
        assert r.status_code == 200, path
        body = r.json()
        assert len(body["results"]) == 1
        check_user(body["results"][0])
        assert re.fullmatch(r"[0-9a-f]{16}", body["info"]["seed"])
        assert body["info"]["page"] == 1 and body["info"]["version"] == "1.4"


def test_same_seed_and_page_byte_identical(api):
    a = get(api, seed="repeat", page=7, results=500)
    b = get(api, seed="repeat", page=7, results=500)
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    c = get(api, seed="repeat", page=8, results=500)
    d = get(api, seed="other", page=7, results=500)
    assert c.content != a.content and d.content != a.content
    # A prefix of the stream: the first users of a larger page are the same users.
    small = get(api, seed="repeat", page=7, results=10).json()["results"]
    assert small == a.json()["results"][:10]


def test_unseeded_requests_differ_and_echo_their_seed(api):
    a, b = get(api, results=5).json(), get(api, results=5).json()
    assert a["info"]["seed"] != b["info"]["seed"]
    again = get(api, results=5, seed=a["info"]["seed"]).json()
    assert again["results"] == a["results"]


@pytest.mark.parametrize("value,expect", [("1", 1), ("5000", 5000), ("0", 1), ("-3", 1),
                                          ("5001", 1), ("abc", 1), ("", 1), ("12abc", 12),
                                          ("99999999999999999999", 1)])
def test_results_bounds(api, value, expect):
    body = get(api, results=value, seed="bounds").json()
    assert len(body["results"]) == expect
    assert body["info"]["results"] == expect


@pytest.mark.parametrize("value,expect", [("2", 2), ("10000", 10000), ("0", 1), ("10001", 1),
                                          ("x", 1)])
def test_page_bounds(api, value, expect):
    assert get(api, page=value, seed="p").json()["info"]["page"] == expect


def test_gender(api):
    for g in ("male", "female"):
        users = get(api, results=300, gender=g).json()["results"]
        assert {u["gender"] for u in users} == {g}
    users = get(api, results=300, gender="other").json()["results"]
    assert {u["gender"] for u in users} == {"male", "female"}
    # As on randomuser.me, a seed wins over gender: the seeded stream is reproduced as is.
    seeded = get(api, results=300, gender="female", seed="g").json()["results"]
    assert {u["gender"] for u in seeded} == {"male", "female"}


def test_nat_lists(api):
    users = get(api, results=500, nat="us,FR, gb").json()["results"]
    assert {u["nat"] for u in users} == {"US", "FR", "GB"}
    users = get(api, results=50, nat="xx,ua").json()["results"]
    assert {u["nat"] for u in users} == {"UA"}
    # Nothing valid: every nationality, as randomuser.me does.
    users = get(api, results=2000, nat="zz").json()["results"]
    assert {u["nat"] for u in users} == set(NATS)
    users = get(api, results=2000).json()["results"]
    assert {u["nat"] for u in users} == set(NATS)


def test_inc_exc_noinfo(api):
    full = get(api, seed="ie", results=20).json()
    inc = get(api, seed="ie", results=20, inc="gender,name,nat").json()
    assert all(list(u) == ["gender", "name", "nat"] for u in inc["results"])
    assert [(u["gender"], u["name"], u["nat"]) for u in full["results"]] == \
           [(u["gender"], u["name"], u["nat"]) for u in inc["results"]]
    exc = get(api, seed="ie", results=20, exc="login,id,picture").json()
    assert all(list(u) == [f for f in FIELDS if f not in ("login", "id", "picture")]
               for u in exc["results"])
    both = get(api, seed="ie", results=20, inc="email,login,phone", exc="login").json()
    assert all(list(u) == ["email", "phone"] for u in both["results"])
    # Unknown names are ignored, case does not matter.
    odd = get(api, seed="ie", results=2, inc="EMAIL,bogus").json()
    assert all(list(u) == ["email"] for u in odd["results"])
    noinfo = get(api, seed="ie", results=20, noinfo="").json()
    assert list(noinfo) == ["results"] and noinfo["results"] == full["results"]


def test_pretty(api):
    r = get(api, seed="pp", results=3, format="pretty")
    assert r.status_code == 200 and r.text.startswith('{\n  "results": [\n    {\n')
    assert r.json() == get(api, seed="pp", results=3).json()


def flatten(u, prefix=""):
    for k, v in u.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + ".")
        else:
            yield prefix + k, v


def test_csv(api):
    users = get(api, seed="csv", results=300).json()["results"]
    r = get(api, seed="csv", results=300, format="csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    header, rows = rows[0], rows[1:]
    assert header == [k for k, _ in flatten(users[0])]
    assert len(rows) == 300
    for u, row in zip(users, rows):
        want = ["" if v is None else str(v) for _, v in flatten(u)]
        assert row == want
    # fmt= is the same parameter; inc narrows the columns.
    r2 = get(api, seed="csv", results=300, fmt="csv", inc="id,nat")
    rows2 = list(csv.reader(io.StringIO(r2.text)))
    assert rows2[0] == ["id.name", "id.value", "nat"]
    assert [row[-1] for row in rows2[1:]] == [u["nat"] for u in users]
    assert get(api, seed="csv", results=300, format="csv").content == r.content


def test_byte_identical_across_processes(sluice_proc, api):
    """Another fake-api process (another address, another start time) serves the same bytes."""
    other = sluice_proc("fake-api")
    for params in ({"seed": "xproc", "page": 3, "results": 1000},
                   {"seed": "xproc", "results": 50, "nat": "ir,ua,rs", "format": "csv"},
                   {"seed": "x y/ü", "results": 20, "inc": "login,dob", "noinfo": "1"}):
        a = requests.get(api + "/api/", params=params, timeout=sh.scaled(10))
        b = requests.get(f"http://{other.addr}/api/1.4/", params=params, timeout=sh.scaled(10))
        assert a.status_code == b.status_code == 200
        assert a.content == b.content


def test_seeded_pages_are_distinct_users(api):
    """What a seeded ingest reads (page=1,2,3,... of one seed): no user twice."""
    uuids = set()
    for page in range(1, 21):
        users = get(api, seed="pages", page=page, results=500, inc="login").json()["results"]
        uuids |= {u["login"]["uuid"] for u in users}
    assert len(uuids) == 20 * 500
