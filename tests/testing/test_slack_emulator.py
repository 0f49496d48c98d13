"""The Slack emulator, exercised through the real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from testing.signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_event,
    signed_headers,
)
from testing.slack_emulator import (
    RESPONSE_URL_MAX_USES,
    UPLOAD_METHOD,
    SlackEmulator,
    dm_channel_id,
    make_user,
    make_users,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

USERS = [
    make_user("U0ALICE", "alice", email="alice@example.com", real_name="Alice Adams", tz="America/New_York"),
    make_user("U0BOB", "bob", email="Bob@Example.com", tz="Europe/Berlin"),
    make_user("U0CAROL", "carol", email="carol@example.com", tz="Asia/Tokyo"),
    make_user("U0GONE", "gone", email="gone@example.com", deleted=True),
    make_user("U0HELPER", "helper-bot", is_bot=True),
]


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(users=USERS) as emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return emu.client()


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# --------------------------------------------------------------------------- basics


def test_base_url_is_a_local_api_root(emu: SlackEmulator) -> None:
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert emu.base_url.endswith("/api/")


def test_auth_test_reports_team_and_bot(client: WebClient) -> None:
    response = client.auth_test()
    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == ("T0TEST", "U0BOT", "B0BOT")


def test_team_id_is_configurable() -> None:
    with SlackEmulator(team_id="T0OTHER") as emu:
        assert emu.client().auth_test()["team_id"] == "T0OTHER"


def test_missing_and_invalid_tokens_are_refused(emu: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=emu.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as invalid:
        WebClient(base_url=emu.base_url, token="not-a-slack-token").auth_test()
    assert invalid.value.response["error"] == "invalid_auth"
    assert [c.error for c in emu.calls("auth.test")] == ["not_authed", "invalid_auth"]


def test_only_the_configured_token_is_accepted() -> None:
    with SlackEmulator(token="xoxb-right") as emu:
        assert emu.client().auth_test()["ok"]
        with pytest.raises(SlackApiError) as wrong:
            WebClient(base_url=emu.base_url, token="xoxb-wrong").auth_test()
        assert wrong.value.response["error"] == "invalid_auth"


def test_authorization_header_is_recorded(emu: SlackEmulator, client: WebClient) -> None:
    client.auth_test()
    (call,) = emu.calls("auth.test")
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    assert call.ok and call.status == 200


def test_unknown_methods_answer_unknown_method_and_are_recorded(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("nothing.here", params={"a": "1"})
    assert raised.value.response["error"] == "unknown_method"
    (call,) = emu.calls("nothing.here")
    assert call.params == {"a": "1"}


# --------------------------------------------------------------------------- chat


def test_post_message_to_a_channel_records_decoded_blocks(emu: SlackEmulator, client: WebClient) -> None:
    blocks = [_section("*show me the artifact*")]
    response = client.chat_postMessage(channel="C0GROWTH", text="show me the artifact", blocks=blocks)
    assert response["channel"] == "C0GROWTH"
    assert response["message"]["text"] == "show me the artifact"
    assert response["message"]["bot_id"] == "B0BOT"
    (call,) = emu.calls("chat.postMessage")
    assert call.params["blocks"] == blocks
    assert call.headers["Content-Type"].startswith("application/json")  # slack_sdk sends JSON here
    assert emu.messages("C0GROWTH")[0]["blocks"] == blocks


def test_post_message_to_a_user_id_lands_in_their_dm(emu: SlackEmulator, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U0ALICE", text="hi")
    assert response["channel"] == dm_channel_id("U0ALICE") == "D0ALICE"
    assert [m["text"] for m in emu.dm_messages("U0ALICE")] == ["hi"]


def test_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(len(s.split(".")[1]) == 6 for s in stamps)


def test_concurrent_posts_are_all_recorded(emu: SlackEmulator) -> None:
    client = emu.client()
    stamps: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        ts = client.chat_postMessage(channel=f"U{i:08d}", text="x")["ts"]
        with lock:
            stamps.append(ts)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(stamps)) == 30
    assert emu.call_count("chat.postMessage", ok=True) == 30


def test_message_without_text_or_blocks_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C1")
    assert raised.value.response["error"] == "no_text"


def test_block_kit_limits_are_enforced(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel="C1", text="t", blocks=[_section("x" * 3001)])
    assert too_long.value.response["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in too_long.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel="C1", text="t", blocks=[_section("x")] * 51)
    assert too_many.value.response["error"] == "invalid_blocks"


def test_dm_to_a_deactivated_user_or_a_bot_fails_like_slack(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as gone:
        client.conversations_open(users="U0GONE")
    assert gone.value.response["error"] == "user_disabled"
    with pytest.raises(SlackApiError) as bot:
        client.chat_postMessage(channel="U0HELPER", text="hi")
    assert bot.value.response["error"] == "cannot_dm_bot"


def test_update_ephemeral_and_delete(emu: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0BOB", text="before")
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="after")
    assert (updated["channel"], updated["ts"], updated["text"]) == (posted["channel"], posted["ts"], "after")
    assert emu.dm_messages("U0BOB")[0]["text"] == "after"
    ephemeral = client.chat_postEphemeral(channel="C1", user="U0BOB", text="only you")
    assert ephemeral["message_ts"]
    client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    assert emu.dm_messages("U0BOB") == []


def test_strict_mode_refuses_updates_of_unknown_messages() -> None:
    with SlackEmulator(strict=True) as emu, pytest.raises(SlackApiError) as raised:
        emu.client().chat_update(channel="C1", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"


def test_conversations_open_returns_the_dm_channel(client: WebClient) -> None:
    assert client.conversations_open(users="U0CAROL")["channel"]["id"] == "D0CAROL"


# --------------------------------------------------------------------------- users


def test_users_list_paginates_with_cursors(emu: SlackEmulator, client: WebClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = client.users_list(limit=2, cursor=cursor)
        seen += [member["id"] for member in page["members"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == [u["id"] for u in USERS]
    assert [c.params.get("limit") for c in emu.calls("users.list")] == ["2", "2", "2"]
    assert emu.calls("users.list")[-1].response["response_metadata"]["next_cursor"] == ""  # type: ignore[index]


def test_users_list_pages_iterate_through_slack_sdk(client: WebClient) -> None:
    ids = [member["id"] for page in client.users_list(limit=3) for member in page["members"]]
    assert ids == [u["id"] for u in USERS]


def test_users_list_without_limit_returns_everyone(emu: SlackEmulator) -> None:
    emu.set_users(make_users(1500))
    page = emu.client().users_list()
    assert len(page["members"]) == 1500
    assert page["response_metadata"]["next_cursor"] == ""


def test_users_list_has_slacks_shape(client: WebClient) -> None:
    members = {m["id"]: m for m in client.users_list()["members"]}
    alice = members["U0ALICE"]
    for key in ("id", "name", "real_name", "deleted", "is_bot", "is_restricted", "is_ultra_restricted", "tz"):
        assert key in alice
    assert alice["profile"]["email"] == "alice@example.com"
    assert alice["profile"]["real_name"] == "Alice Adams"
    assert members["U0GONE"]["deleted"] is True and "tz" not in members["U0GONE"]
    assert members["U0HELPER"]["is_bot"] is True and "email" not in members["U0HELPER"]["profile"]


def test_invalid_cursor_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_list(cursor="bm90LWEtY3Vyc29y")
    assert raised.value.response["error"] == "invalid_cursor"


def test_users_info_and_lookup_by_email(client: WebClient) -> None:
    assert client.users_info(user="U0BOB")["user"]["tz"] == "Europe/Berlin"
    assert client.users_lookupByEmail(email="bob@example.com")["user"]["id"] == "U0BOB"
    with pytest.raises(SlackApiError) as missing:
        client.users_lookupByEmail(email="nobody@example.com")
    assert missing.value.response["error"] == "users_not_found"
    with pytest.raises(SlackApiError) as unknown:
        client.users_info(user="U0NOBODY")
    assert unknown.value.response["error"] == "user_not_found"


# --------------------------------------------------------------------------- views


def test_views_publish_open_and_update(emu: SlackEmulator, client: WebClient) -> None:
    home = {"type": "home", "blocks": [_section("your artifacts")]}
    published = client.views_publish(user_id="U0ALICE", view=home)
    assert emu.home_views["U0ALICE"]["blocks"] == home["blocks"]
    (call,) = emu.calls("views.publish")
    assert call.headers["Content-Type"].startswith("application/json")  # slack_sdk sends JSON here
    assert call.params["view"]["type"] == "home"

    modal = {
        "type": "modal",
        "callback_id": "artifact_modal",
        "title": {"type": "plain_text", "text": "Add artifact"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    opened = client.views_open(trigger_id="123.456.abc", view=modal)
    assert opened["view"]["callback_id"] == "artifact_modal"
    updated = client.views_update(view_id=opened["view"]["id"], view={**modal, "callback_id": "v2"})
    assert updated["view"]["id"] == opened["view"]["id"]
    assert emu.views[opened["view"]["id"]]["callback_id"] == "v2"
    assert published["view"]["id"] != opened["view"]["id"]


def test_modal_limits_are_enforced(client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1.2.3", view=modal)
    assert raised.value.response["error"] == "invalid_arguments"


# --------------------------------------------------------------------------- files


def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient) -> None:
    data = b"\x89PNG\r\n\x1a\nchart-bytes"
    response = client.files_upload_v2(
        content=data,
        filename="leaderboard.png",
        title="Leaderboard 2025-01",
        channel="C0GROWTH",
        initial_comment="Weekly summary",
    )
    assert response["file"]["id"].startswith("F")
    assert response["file"]["title"] == "Leaderboard 2025-01"
    (upload,) = emu.completed_uploads()
    assert upload.data == data and upload.length == len(data)
    assert (upload.filename, upload.title, upload.channel_id) == (
        "leaderboard.png",
        "Leaderboard 2025-01",
        "C0GROWTH",
    )
    assert upload.initial_comment == "Weekly summary"
    assert [c.method for c in emu.calls()] == [
        "files.getUploadURLExternal",
        UPLOAD_METHOD,
        "files.completeUploadExternal",
    ]
    complete = emu.calls("files.completeUploadExternal")[0]
    assert complete.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert complete.params["files"][0]["id"] == upload.file_id  # a JSON string in a form body, recorded decoded


def test_complete_upload_of_an_unknown_file_fails(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": "F404", "title": "x"}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"


# --------------------------------------------------------------------------- failures


def test_rate_limited_call_is_retried_by_slack_sdk(emu: SlackEmulator) -> None:
    emu.rate_limit("chat.postMessage", retry_after=0, times=1)
    client = emu.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    response = client.chat_postMessage(channel="U0ALICE", text="hi")
    assert response["ok"] is True
    first, second = emu.calls("chat.postMessage")
    assert (first.status, first.error) == (429, "ratelimited")
    assert second.ok
    assert emu.throttled_count("chat.postMessage") == 1
    assert len(emu.dm_messages("U0ALICE")) == 1


def test_rate_limit_without_retry_handler_surfaces_retry_after(emu: SlackEmulator, client: WebClient) -> None:
    emu.rate_limit("users.list", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.users_list()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert client.users_list()["ok"]  # times=1 by default


def test_scripted_error_surfaces_as_slack_api_error(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("chat.postMessage", error="channel_not_found", when=lambda p: p.get("channel") == "C0ARCHIVED")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0ARCHIVED", text="x")
    assert raised.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C0OTHER", text="x")["ok"]
    with pytest.raises(SlackApiError):  # no `times`: keeps failing
        client.chat_postMessage(channel="C0ARCHIVED", text="x")


def test_scripted_error_for_a_number_of_times(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("users.info", error="user_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.users_info(user="U0ALICE")
    assert client.users_info(user="U0ALICE")["ok"]


def test_server_error_is_retried_by_slack_sdk(emu: SlackEmulator) -> None:
    emu.server_error("auth.test", status=500, times=1)
    with pytest.raises(SlackApiError) as raised:
        emu.client().auth_test()
    assert raised.value.response.status_code == 500
    emu.server_error("auth.test", status=503, times=1)
    retrying = emu.client(
        retry_handlers=[
            ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01))
        ]
    )
    assert retrying.auth_test()["ok"]


def test_token_bucket_answers_429_when_exceeded(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_rate("chat.postMessage", per_second=2, burst=3)
    statuses = []
    for _ in range(5):
        try:
            client.chat_postMessage(channel="C1", text="x")
            statuses.append(200)
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)
            assert int(exc.response.headers["Retry-After"]) >= 1
    assert statuses == [200, 200, 200, 429, 429]
    assert emu.throttled_count("chat.postMessage") == 2
    time.sleep(0.6)  # refills at 2 per second
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_token_bucket_per_channel(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_rate("chat.postMessage", per_second=1, burst=1, per_channel=True)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert client.chat_postMessage(channel="C2", text="x")["ok"]  # another channel, another bucket
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429


def test_latency_and_custom_methods(emu: SlackEmulator, client: WebClient) -> None:
    emu.register("conversations.info", lambda params: {"channel": {"id": params["channel"], "is_archived": False}})
    emu.set_latency(0.2, "conversations.info")
    started = time.perf_counter()
    assert client.conversations_info(channel="C1")["channel"]["id"] == "C1"
    assert time.perf_counter() - started >= 0.2


def test_token_bucket_refills_while_freezegun_freezes_time(emu: SlackEmulator, client: WebClient) -> None:
    freezegun = pytest.importorskip("freezegun")
    emu.set_rate("chat.postMessage", per_second=20, burst=1)
    with freezegun.freeze_time("2025-01-31 20:00:00"):
        assert client.chat_postMessage(channel="C1", text="1")["ok"]
        time.sleep(0.2)  # freezegun does not fake sleep; the emulator's bucket must see real time pass
        assert client.chat_postMessage(channel="C1", text="2")["ok"]


def test_down_answers_503_until_up(emu: SlackEmulator, client: WebClient) -> None:
    emu.down()
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 503
    emu.up()
    assert client.auth_test()["ok"]
    assert [c.status for c in emu.calls("auth.test")] == [503, 200]


# --------------------------------------------------------------------------- raw HTTP bodies


def _raw_post(url: str, body: bytes, content_type: str, token: str | None = "xoxb-raw") -> dict[str, Any]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_form_and_json_bodies_and_token_parameter(emu: SlackEmulator) -> None:
    blocks = [_section("hello")]
    form = urlencode({"channel": "C1", "text": "form", "blocks": json.dumps(blocks)}).encode()
    assert _raw_post(emu.base_url + "chat.postMessage", form, "application/x-www-form-urlencoded")["ok"]
    as_json = json.dumps({"channel": "C1", "text": "json", "blocks": blocks}).encode()
    assert _raw_post(emu.base_url + "chat.postMessage", as_json, "application/json; charset=utf-8")["ok"]
    with_token = urlencode({"token": "xoxb-in-body", "channel": "C1", "text": "t"}).encode()
    assert _raw_post(emu.base_url + "chat.postMessage", with_token, "application/x-www-form-urlencoded", None)["ok"]
    assert [c.params["blocks"] for c in emu.calls("chat.postMessage")[:2]] == [blocks, blocks]


# --------------------------------------------------------------------------- response_url


def test_response_url_posts_are_recorded(emu: SlackEmulator) -> None:
    url = emu.response_url()
    assert url.startswith(emu.origin + "/response/")
    assert emu.response_url() != url
    webhook = WebhookClient(url)
    assert webhook.send(text="Working on it", response_type="ephemeral").status_code == 200
    (posted,) = emu.responses_to(url)
    assert posted.body == {"text": "Working on it", "response_type": "ephemeral"}
    for _ in range(RESPONSE_URL_MAX_USES - 1):
        assert webhook.send(text="again").status_code == 200
    assert webhook.send(text="one too many").status_code == 404


# --------------------------------------------------------------------------- signing


def test_signed_headers_pass_slack_sdk_signature_verifier() -> None:
    body = event_body(message_event("U0ALICE", "here: https://example.com/dash"))
    headers = signed_headers(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid(body.decode(), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid_request(body + b" ", headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_signature_of_str_and_bytes_bodies_agree() -> None:
    body = command_body("/artifact", "https://x.example <b> é", "U0ALICE")
    assert signed_headers(body, SECRET, 1_700_000_000) == signed_headers(body.decode(), SECRET, 1_700_000_000)


def test_request_bodies_have_slacks_shape(emu: SlackEmulator) -> None:
    event = json.loads(event_body(message_event("U0ALICE", "hi"), event_id="Ev0001"))
    assert (event["type"], event["event_id"], event["team_id"], event["api_app_id"]) == (
        "event_callback",
        "Ev0001",
        "T0TEST",
        "A0APP",
    )
    assert event["event"]["channel_type"] == "im" and event["event"]["channel"] == "D0ALICE"

    url = emu.response_url()
    fields = parse_qs(command_body("/artifact-report", "Growth 2025-01 csv", "U0CAROL", response_url=url).decode())
    assert fields["command"] == ["/artifact-report"]
    assert fields["text"] == ["Growth 2025-01 csv"]
    assert fields["user_id"] == ["U0CAROL"] and fields["team_id"] == ["T0TEST"]
    assert fields["response_url"] == [url] and fields["trigger_id"][0]

    payload = block_actions_payload("U0ALICE", "add_artifact", "2025-01")
    decoded = parse_qs(interaction_body(payload).decode())
    assert json.loads(decoded["payload"][0]) == payload
