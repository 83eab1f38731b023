"""The documented production web server (gunicorn, settings.production) serves pages, static files and probes."""
import json
import re

import pytest

from .server import HOST, ProductionServer, manage, post_slowly, production_env

# What the proxy in front sends: the public host name, and that the client used HTTPS.
BEHIND_PROXY = {"Host": HOST, "X-Forwarded-Proto": "https"}
ONE_YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """A migrated SQLite database and collected static files, as the README's deploy steps leave them."""
    folder = tmp_path_factory.mktemp("production")
    env = production_env(folder)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    return folder


@pytest.fixture(scope="module")
def server(var_dir):
    server = ProductionServer.start(production_env(var_dir), var_dir / "gunicorn.log")
    yield server
    server.stop()


def stylesheet_href(html: bytes) -> str:
    match = re.search(rb'<link rel="stylesheet" href="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1).decode()


def test_a_page_arrives_with_its_stylesheet_which_is_cached_for_a_year(server):
    status, _, html = server.get("/accounts/login/", BEHIND_PROXY)
    assert status == 200
    href = stylesheet_href(html)
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", href)  # a hashed name, so it can be cached for ever

    status, headers, css = server.get(href, {**BEHIND_PROXY, "Accept-Encoding": "gzip"})

    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert f"max-age={ONE_YEAR * 10}" in headers["Cache-Control"] or f"max-age={ONE_YEAR}" in headers["Cache-Control"]
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Encoding"] == "gzip"
    assert css


def test_healthz_answers_plain_http_from_the_local_host_while_pages_redirect_to_https(server):
    status, headers, _ = server.get("/accounts/login/", {"Host": HOST})
    assert status == 301 and headers["Location"].startswith("https://")

    # By address, over HTTP, with a Host that is not in ALLOWED_HOSTS: as a load balancer probes.
    status, _, body = server.get("/healthz")

    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_readyz_answers_200_when_the_database_and_broker_answer(server):
    status, _, body = server.get("/readyz")

    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_answers_503_naming_the_database_when_the_database_url_points_nowhere(var_dir):
    env = production_env(var_dir, DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", LOG_FORMAT="json")
    server = ProductionServer.start(env, var_dir / "gunicorn-nowhere.log")
    try:
        assert server.get("/healthz")[0] == 200  # up, though not ready

        status, _, body = server.get("/readyz")

        assert status == 503
        answer = json.loads(body)
        assert answer["failed"] == ["database"]
        assert answer["checks"]["broker"] == "ok"
        assert "5432" not in body.decode() and "postgres" not in body.decode()  # no connection details

        # LOG_FORMAT=json: the request line is one JSON object with its fields.
        server.get("/accounts/login/?next=/imports/", BEHIND_PROXY)
        line = json.loads(server.wait_for_log('"path": "/accounts/login/"'))
        assert line["method"] == "GET" and line["status"] == 200 and line["request_id"]
        assert "next" not in json.dumps(line)
    finally:
        server.stop()


def test_the_request_log_line_has_no_query_string_and_names_the_request_id(server):
    status, headers, _ = server.get(
        "/accounts/login/?next=/imports/&token=s3cr3t-value", {**BEHIND_PROXY, "X-Request-ID": "probe-12345678"},
    )
    assert status == 200
    assert headers["X-Request-ID"] == "probe-12345678"

    line = server.wait_for_log("rid=probe-12345678")

    assert re.search(r"GET /accounts/login/ 200 [0-9.]+ms$", line), line
    assert "?" not in line and "s3cr3t" not in line and "next=" not in line


def test_the_set_password_links_token_never_reaches_the_log(server):
    server.get("/accounts/reset/MTIzNA/cr8j1l-0123456789abcdef0123456789abcdef/", BEHIND_PROXY)

    line = server.wait_for_log("/accounts/reset/")

    assert "/accounts/reset/<uidb64>/<token>/" in line
    assert "0123456789abcdef" not in server.log() and "MTIzNA" not in server.log()


def test_a_slow_upload_outlasting_the_worker_timeout_is_not_cut_off(var_dir):
    # A 2 s timeout and a body that takes 5 s to arrive: with sync workers gunicorn would kill the
    # process mid-upload; with the configured threads the timeout never applies to a request.
    server = ProductionServer.start(production_env(var_dir, GUNICORN_TIMEOUT="2"), var_dir / "gunicorn-slow.log")
    try:
        status, _, html = server.get("/accounts/login/", BEHIND_PROXY)
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
        cookie = re.search(r"csrftoken=([^;]+)", server.last_set_cookie).group(1)
        fields = {"csrfmiddlewaretoken": csrf, "username": "nobody", "password": "wrong", "padding": "x" * 200_000}
        headers = {**BEHIND_PROXY, "Cookie": f"csrftoken={cookie}", "Origin": f"https://{HOST}",
                   "Referer": f"https://{HOST}/accounts/login/"}

        status, body = post_slowly(server.port, "/accounts/login/", fields, headers, seconds=5)

        assert status == 200  # the sign-in form again, having read the whole body
        assert b"correct username and password" in body
        assert "WORKER TIMEOUT" not in server.log()
    finally:
        server.stop()
