"""The end-to-end tests' oracle (pipeline_util.format_data, the seeds' format_data transcribed)
on a user written out by hand in randomuser.me 1.4's shape: the seed's 12 fields in its order,
the address joined as the seed joins it, post_code kept as the API gave it (int or string), the
medium picture, and sluice's two fixes (id as a UUID string, dob kept). Also the text form a
stored row has (post_code 2000 -> "2000")."""

import json
import uuid

import pipeline_util as pu

USER = {
    "gender": "female",
    "name": {"title": "Ms", "first": "Zoë", "last": "O'Connor"},
    "location": {"street": {"number": 6128, "name": "Grafton Street"}, "city": "Cork",
                 "state": "Munster", "country": "Ireland", "postcode": 21583,
                 "coordinates": {"latitude": "-3.1452", "longitude": "-68.1427"},
                 "timezone": {"offset": "+1:00", "description": "Brussels, Copenhagen"}},
    "email": "zoe.oconnor@example.com",
    "login": {"uuid": "5b8e1d37-3e4f-4a0d-9f3e-0f1d2c3b4a59", "username": "bluefrog512",
              "password": "kelly", "salt": "QfXxLr6H", "md5": "0" * 32, "sha1": "1" * 40,
              "sha256": "2" * 64},
    "dob": {"date": "1962-08-04T09:17:13.264Z", "age": 63},
    "registered": {"date": "2011-05-20T02:38:04.211Z", "age": 14},
    "phone": "041-356-0772", "cell": "081-915-1312", "id": {"name": "PPS", "value": "8274613T"},
    "picture": {"large": "https://randomuser.me/api/portraits/women/74.jpg",
                "medium": "https://randomuser.me/api/portraits/med/women/74.jpg",
                "thumbnail": "https://randomuser.me/api/portraits/thumb/women/74.jpg"},
    "nat": "IE",
}


def test_format_data_flattens_as_the_seed():
    uid = uuid.UUID("0c6f0a8e-9d8e-4f36-a1b7-3c9a4e5b6d7f")
    rec = pu.format_data(USER, uid)
    assert list(rec) == pu.FIELDS
    assert rec == {
        "id": "0c6f0a8e-9d8e-4f36-a1b7-3c9a4e5b6d7f", "first_name": "Zoë",
        "last_name": "O'Connor", "gender": "female",
        "address": "6128 Grafton Street, Cork, Munster, Ireland", "post_code": 21583,
        "email": "zoe.oconnor@example.com", "username": "bluefrog512",
        "dob": "1962-08-04T09:17:13.264Z", "registered_date": "2011-05-20T02:38:04.211Z",
        "phone": "041-356-0772", "picture": "https://randomuser.me/api/portraits/med/women/74.jpg"}
    json.dumps(rec)  # the seed's json.dumps now works: the id is a string


def test_fresh_ids_and_string_post_codes():
    a, b = pu.format_data(USER), pu.format_data(USER)
    assert pu.is_uuid4(a["id"]) and pu.is_uuid4(b["id"]) and a["id"] != b["id"]
    gb = json.loads(json.dumps(USER))
    gb["location"]["postcode"] = "SW1A 1AA"
    assert pu.format_data(gb)["post_code"] == "SW1A 1AA"
    assert pu.as_text(21583) == "21583" and pu.as_text("SW1A 1AA") == "SW1A 1AA"
    assert pu.content_key(a) == pu.content_key(b)
    assert pu.content_key(a, exact=True) != pu.content_key(
        dict(a, post_code="21583"), exact=True)
    assert not pu.is_uuid4("not-a-uuid") and not pu.is_uuid4(str(uuid.uuid1()))
