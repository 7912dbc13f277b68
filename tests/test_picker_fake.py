"""The fake Google refuses what Google refuses: a fake that accepts anything proves nothing.
Driven with plain HTTP, independently of the importer's client."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.google_picker import STILL_FRAME, FakeGooglePhotos, LibraryItem


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGooglePhotos]:
    with FakeGooglePhotos() as server:
        assert isinstance(server, FakeGooglePhotos)
        yield server


def api(fake: FakeGooglePhotos) -> httpx.Client:
    _, access = fake.oauth.issue()
    return httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {access}"})


def status_of(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["status"])


def picked_session(fake: FakeGooglePhotos, client: httpx.Client,
                   items: list[LibraryItem]) -> str:
    fake.pick(*items)
    session = client.post("/v1/sessions", json={}).json()["id"]
    assert client.get(f"/v1/sessions/{session}").json()["mediaItemsSet"] is True
    return str(session)


def test_session_lifecycle(fake: FakeGooglePhotos) -> None:
    client = api(fake)
    item = fake.add("a.jpg", datetime(2020, 1, 1, tzinfo=UTC), b"photo")
    fake.pick(item, after_polls=2)
    created = client.post("/v1/sessions", json={"pickingConfig": {"maxItemCount": "5"}})
    assert created.status_code == 200
    session = created.json()
    assert session["mediaItemsSet"] is False and session["pollingConfig"]["pollInterval"]
    listing = client.get("/v1/mediaItems", params={"sessionId": session["id"]})
    assert listing.status_code == 400 and status_of(listing) == "FAILED_PRECONDITION"
    first = client.get(f"/v1/sessions/{session['id']}").json()
    assert first["mediaItemsSet"] is False  # still picking
    second = client.get(f"/v1/sessions/{session['id']}").json()
    assert second["mediaItemsSet"] is True and "pollingConfig" not in second
    listed = client.get("/v1/mediaItems", params={"sessionId": session["id"]}).json()
    assert [m["mediaFile"]["filename"] for m in listed["mediaItems"]] == ["a.jpg"]
    assert client.delete(f"/v1/sessions/{session['id']}").json() == {}
    gone = client.get(f"/v1/sessions/{session['id']}")
    assert gone.status_code == 404 and status_of(gone) == "NOT_FOUND"


@pytest.mark.parametrize("body", [
    {"pickingConfig": {"maxItemCount": "2001"}},
    {"pickingConfig": {"maxItemCount": "0"}},
    {"pickingConfig": {"maxItemCount": "many"}},
    {"unknownField": 1},
])
def test_create_rejects_bad_sessions(fake: FakeGooglePhotos, body: dict[str, object]) -> None:
    answer = api(fake).post("/v1/sessions", json=body)
    assert answer.status_code == 400 and status_of(answer) == "INVALID_ARGUMENT"


def test_session_times_out(fake: FakeGooglePhotos) -> None:
    client = api(fake)
    fake.choice = None  # the user never presses Done
    session = client.post("/v1/sessions", json={}).json()
    fake.advance(fake.timeout_in + 1)
    try:
        later = client.get(f"/v1/sessions/{session['id']}").json()
    finally:
        fake.advance(-(fake.timeout_in + 1))
    assert later["mediaItemsSet"] is False and later["pollingConfig"]["timeoutIn"] == "0s"


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 230), size=st.sampled_from([None, 0, 1, 7, 50, 100, 1000]))
def test_pagination_hands_out_every_item_once(fake: FakeGooglePhotos, count: int,
                                              size: int | None) -> None:
    client = api(fake)
    items = [fake.add(f"{n}.jpg", datetime(2020, 1, 1, tzinfo=UTC), b"x") for n in range(count)]
    session = picked_session(fake, client, items)
    seen: list[str] = []
    token = None
    expected_page = min(size or 50, 100)
    while True:
        params: dict[str, str | int] = {"sessionId": session}
        if size is not None:
            params["pageSize"] = size
        if token:
            params["pageToken"] = token
        page = client.get("/v1/mediaItems", params=params).json()
        assert len(page["mediaItems"]) <= expected_page
        seen += [m["id"] for m in page["mediaItems"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == [item.id for item in items]


def test_listing_refuses_foreign_tokens_and_negative_sizes(fake: FakeGooglePhotos) -> None:
    client = api(fake)
    item = fake.add("a.jpg", datetime(2020, 1, 1, tzinfo=UTC), b"x")
    session = picked_session(fake, client, [item])
    for params in ({"pageToken": "made-up"}, {"pageSize": -1}, {"bogus": 1}):
        answer = client.get("/v1/mediaItems", params={"sessionId": session, **params})
        assert answer.status_code == 400 and status_of(answer) == "INVALID_ARGUMENT", params
    missing = client.get("/v1/mediaItems")
    assert missing.status_code == 400


def test_downloads_need_the_token_and_expire(fake: FakeGooglePhotos) -> None:
    client = api(fake)
    photo = fake.add("p.jpg", datetime(2020, 1, 1, tzinfo=UTC), b"photo bytes")
    video = fake.add("v.mp4", datetime(2020, 1, 1, tzinfo=UTC), b"video bytes", video=True)
    session = picked_session(fake, client, [photo, video])
    listed = client.get("/v1/mediaItems", params={"sessionId": session}).json()["mediaItems"]
    base = {m["id"]: m["mediaFile"]["baseUrl"] for m in listed}
    assert httpx.get(base[photo.id] + "=d").status_code == 401  # no bearer token
    assert client.get(base[photo.id] + "=d").content == b"photo bytes"
    assert client.get(base[video.id] + "=dv").content == b"video bytes"
    assert client.get(base[video.id] + "=d").content == STILL_FRAME  # not the video
    assert client.get(base[photo.id] + "=dv").status_code == 400
    fake.advance(3601)
    try:
        fresh = api(fake)  # a token issued now; the base URL is over an hour old
        assert fresh.get(base[photo.id] + "=d").status_code == 403
        relisted = fresh.get("/v1/mediaItems", params={"sessionId": session}).json()
        again = {m["id"]: m["mediaFile"]["baseUrl"] for m in relisted["mediaItems"]}
        assert fresh.get(again[photo.id] + "=d").content == b"photo bytes"
    finally:
        fake.advance(-3601)


def test_api_refuses_missing_expired_and_revoked_tokens(fake: FakeGooglePhotos) -> None:
    assert httpx.post(f"{fake.url}/v1/sessions", json={}).status_code == 401
    refresh, access = fake.oauth.issue()
    headers = {"Authorization": f"Bearer {access}"}
    assert httpx.post(f"{fake.url}/v1/sessions", json={}, headers=headers).status_code == 200
    fake.oauth.revoke(refresh)
    refused = httpx.post(f"{fake.url}/v1/sessions", json={}, headers=headers)
    assert refused.status_code == 401 and status_of(refused) == "UNAUTHENTICATED"
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def token_request(fake: FakeGooglePhotos, **form: str) -> httpx.Response:
    body = {"client_id": fake.oauth.client_id, "client_secret": fake.oauth.client_secret,
            **form}
    return httpx.post(f"{fake.url}/token", data=body)


def authorization(fake: FakeGooglePhotos, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    answer = httpx.get(f"{fake.url}/o/oauth2/auth", params={
        "client_id": fake.oauth.client_id, "redirect_uri": "http://localhost:8085/",
        "response_type": "code", "scope": "https://www.googleapis.com/auth/"
        "photospicker.mediaitems.readonly", "state": "s", "access_type": "offline",
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"})
    assert answer.status_code == 302
    return str(httpx.URL(answer.headers["Location"]).params["code"])


def test_token_endpoint_checks_what_google_checks(fake: FakeGooglePhotos) -> None:
    verifier = "v" * 64
    code = authorization(fake, verifier)
    wrong = token_request(fake, grant_type="authorization_code", code=code,
                          redirect_uri="http://localhost:8085/", code_verifier="w" * 64)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = authorization(fake, verifier)
    elsewhere = token_request(fake, grant_type="authorization_code", code=code,
                              redirect_uri="http://localhost:9999/", code_verifier=verifier)
    assert elsewhere.json()["error"] == "redirect_uri_mismatch"
    code = authorization(fake, verifier)
    good = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": "http://localhost:8085/", "code_verifier": verifier}
    secret = httpx.post(f"{fake.url}/token", data={**good, "client_id": fake.oauth.client_id,
                                                     "client_secret": "guess"})
    assert secret.status_code == 401 and secret.json()["error"] == "invalid_client"
    tokens = token_request(fake, **good)
    assert tokens.status_code == 200 and tokens.json()["refresh_token"]
    assert token_request(fake, **good).json()["error"] == "invalid_grant"  # used up
    refresh = tokens.json()["refresh_token"]
    renewed = token_request(fake, grant_type="refresh_token", refresh_token=refresh)
    assert renewed.status_code == 200 and "refresh_token" not in renewed.json()
    fake.oauth.revoke(refresh)
    revoked = token_request(fake, grant_type="refresh_token", refresh_token=refresh)
    assert revoked.status_code == 400
    assert revoked.json() == {"error": "invalid_grant",
                              "error_description": "Token has been expired or revoked."}
    assert token_request(fake, grant_type="password").json()["error"] == \
        "unsupported_grant_type"


def test_consent_page_refuses_web_redirects_and_plain_codes(fake: FakeGooglePhotos) -> None:
    params = {"client_id": fake.oauth.client_id, "response_type": "code", "state": "s",
              "scope": "https://www.googleapis.com/auth/photospicker.mediaitems.readonly",
              "code_challenge": "c" * 43, "code_challenge_method": "S256"}
    remote = httpx.get(f"{fake.url}/o/oauth2/auth",
                       params={**params, "redirect_uri": "https://example.com/cb"})
    assert remote.status_code == 400
    no_pkce = {k: v for k, v in params.items() if not k.startswith("code_")}
    plain = httpx.get(f"{fake.url}/o/oauth2/auth",
                      params={**no_pkce, "redirect_uri": "http://localhost:1/"})
    assert plain.status_code == 400
    stranger = httpx.get(f"{fake.url}/o/oauth2/auth",
                         params={**params, "client_id": "x", "redirect_uri": "http://localhost/"})
    assert stranger.status_code == 401
