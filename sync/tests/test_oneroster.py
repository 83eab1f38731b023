"""The OneRoster client against the test server: paging, both authentications, retries and refusals."""
import pytest

from sync.oneroster import OneRosterClient, OneRosterError, _retry_after
from sync.tests.oneroster_server import CLIENT_ID, CLIENT_SECRET, OneRosterServer
from sync.tests.roster import roster


def _client(server, **kw):
    kw.setdefault("sleep", lambda seconds: None)
    return OneRosterClient(base_url=server.base_url, version=server.version, client_id=CLIENT_ID,
                           client_secret=kw.pop("secret", CLIENT_SECRET), **kw)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_pages_until_the_total_count_and_writes_the_csv_bundle(tmp_path, version):
    with OneRosterServer(version=version, data=roster(250, version=version)) as server:
        result = _client(server).fetch_bundle(str(tmp_path))
        users = [o for c, o, s in server.requests if c == "users"]
    assert users == [0, 100, 200]  # the server cut the page to 100: the client followed the data, not its own limit
    assert result.counts["users"] == 250
    names = {n for n, _ in result.csv_files}
    assert {"orgs.csv", "users.csv", "demographics.csv", "classes.csv", "enrollments.csv", "manifest.csv"} <= names
    assert ("roles.csv" in names) == (version == "1.2")
    text = (tmp_path / "users.csv").read_text()
    assert text.count("\n") == 251 and "S00249" in text


def test_without_a_total_count_paging_stops_at_a_short_page(tmp_path):
    with OneRosterServer(version="1.1", data=roster(150)) as server:
        server.send_total = False
        client = _client(server, page_size=100)
        assert sum(len(page) for _, page in client.pages("users")) == 150
        assert [o for c, o, s in server.requests if c == "users"] == [0, 100]


def test_429_waits_as_retry_after_says_and_5xx_is_retried_with_backoff():
    waits = []
    with OneRosterServer(version="1.2", data=roster(10, version="1.2")) as server:
        server.fail_status = {("users", 0): [429, 503, 500]}
        server.retry_after = "7"
        pages = list(_client(server, sleep=waits.append, backoff=1.0).pages("users"))
    assert len(pages[0][1]) == 10
    assert waits == [7.0, 2.0, 4.0]  # Retry-After, then exponential backoff


def test_a_server_that_keeps_failing_gives_up_after_bounded_tries():
    with OneRosterServer(version="1.1", data=roster(10)) as server:
        server.fail_status = {("users", 0): [500] * 10}
        with pytest.raises(OneRosterError, match="kept answering HTTP 500 for users"):
            list(_client(server, max_retries=2).pages("users"))
        assert len([s for c, o, s in server.requests if c == "users"]) == 3


def test_a_call_that_does_not_answer_times_out():
    with OneRosterServer(version="1.1", data=roster(150)) as server:
        server.stall = {("users", 100): 2.0}
        with pytest.raises(OneRosterError, match=r"did not answer within 0.3 seconds while fetching users \(offset 100\)"):
            list(_client(server, timeout=0.3, max_retries=1).pages("users"))


def test_a_malformed_page_is_refused():
    with OneRosterServer(version="1.1", data=roster(10)) as server:
        server.malformed = {("users", 0)}
        with pytest.raises(OneRosterError, match="not a OneRoster JSON page"):
            list(_client(server).pages("users"))


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_wrong_or_revoked_credentials_are_refused_without_the_secret_in_the_message(version):
    with OneRosterServer(version=version, data=roster(10, version=version)) as server:
        assert _client(server).test_connection() == 2
        server.revoke()
        with pytest.raises(OneRosterError) as refused:
            _client(server).test_connection()
    assert "revoked" in str(refused.value) and CLIENT_SECRET not in str(refused.value)


def test_an_expired_token_is_renewed_once():
    with OneRosterServer(version="1.2", data=roster(10, version="1.2")) as server:
        client = _client(server)
        client.test_connection()
        server.tokens.clear()  # expired
        assert client.test_connection() == 2


def test_a_signature_made_with_another_secret_is_refused():
    with OneRosterServer(version="1.1", data=roster(10)) as server:
        with pytest.raises(OneRosterError, match="HTTP 401"):
            _client(server, secret="not-the-secret").test_connection()


def test_retry_after_as_a_date_and_bounded():
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("100000") == 120
    assert _retry_after("soon") is None
