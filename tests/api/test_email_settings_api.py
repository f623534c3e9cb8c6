"""GET/PUT /api/v1/me/email-settings: digest frequency and only-a-link bodies."""

from __future__ import annotations

from tests import factories as f


def test_api_email_settings(db, client, bearer):
    ann = f.make_user("ann", email="ann@example.org")
    headers = bearer(ann)
    got = client.get("/api/v1/me/email-settings", headers=headers)
    assert got.get_json() == {"digest": "daily", "link_only": True, "address": True}
    put = client.put(
        "/api/v1/me/email-settings", json={"digest": "off", "link_only": False}, headers=headers
    )
    assert put.status_code == 200
    assert put.get_json() == {"digest": "off", "link_only": False, "address": True}
    for bad in ({"digest": "hourly"}, {"link_only": "no"}, {"other": 1}):
        answer = client.put("/api/v1/me/email-settings", json=bad, headers=headers)
        assert answer.status_code == 400
        assert answer.get_json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/me/email-settings").status_code == 401
