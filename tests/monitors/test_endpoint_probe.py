"""probe_endpoint against real local HTTP, HTTPS and TCP servers."""

import gzip
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from maintenant.monitors.endpoint import (
    BODY_LIMIT,
    parse_status_ranges,
    parse_target,
    probe_endpoint,
)

from .servers import LocalHttpServer, LocalTcpServer, unanswered_port
from .slow_names import slow_names  # noqa: F401 (a fixture)

# A check cut off by its timeout must end this soon after it.
MARGIN = 0.5


def probe_timed(*args, **kwargs):
    started = time.perf_counter()
    result = probe_endpoint(*args, **kwargs)
    return result, time.perf_counter() - started


# --- expected statuses and targets ---------------------------------------------------------

@pytest.mark.parametrize("text, ranges", [
    ("200-399", ((200, 399),)),
    ("200", ((200, 200),)),
    ("200,204,301-302", ((200, 200), (204, 204), (301, 302))),
    (" 200 - 299 , 404 ", ((200, 299), (404, 404))),
    ("100-599", ((100, 599),)),
])
def test_status_ranges_parse(text, ranges):
    assert parse_status_ranges(text) == ranges


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("ok", "'ok' is not a status code"),
    ("200-", "'200-' is not a status code"),
    ("200,,204", "'' is not a status code"),
    ("200,", "'' is not a status code"),
    ("600", "'600' is not a status code"),
    ("99", "'99' is not a status code"),
    ("2OO", "'2OO' is not a status code"),
    ("200-300-400", "'200-300-400' is not a status code"),
    ("399-200", "'399-200' ends before it starts"),
    (None, "must be text"),
    (200, "must be text"),
    (["200"], "must be text"),
])
def test_status_ranges_reject_bad_input_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_status_ranges(text)


@pytest.mark.parametrize("target, parsed", [
    ("http://example.com", ("http", "example.com", 80)),
    ("https://example.com/health?x=1", ("https", "example.com", 443)),
    ("http://127.0.0.1:8080/", ("http", "127.0.0.1", 8080)),
    ("tcp://db.example.com:5432", ("tcp", "db.example.com", 5432)),
    ("tcp://[::1]:6379", ("tcp", "::1", 6379)),
])
def test_targets_parse(target, parsed):
    assert parse_target(target) == parsed


@pytest.mark.parametrize("target, message", [
    ("", "must be an http"),
    ("example.com", "must start with"),
    ("ftp://example.com", "must start with"),
    ("http://", "no host"),
    ("tcp://db.example.com", "needs a port"),
    ("tcp://db.example.com:5432/path", "only tcp://host:port"),
    ("http://example.com:99999/", "not a valid address"),
    ("tcp://example.com:0", "between 1 and 65535"),
])
def test_bad_targets_are_rejected_with_a_reason(target, message):
    with pytest.raises(ValueError, match=message):
        parse_target(target)


def test_a_bad_target_is_reported_not_raised():
    result = probe_endpoint("ftp://example.com")

    assert result.state == "down"
    assert "must start with" in result.error


def test_bad_expected_statuses_are_reported_not_raised(http_server):
    result = probe_endpoint(http_server.url, expected_statuses="2xx")

    assert result.state == "down"
    assert "'2xx' is not a status code" in result.error


# --- HTTP answers --------------------------------------------------------------------------

def test_200_is_up_with_latency_and_status(http_server):
    result = probe_endpoint(http_server.url)

    assert result.state == "up"
    assert result.error is None
    assert 0 < result.latency_ms < 5000
    assert result.details == {"status_code": 200}


@pytest.mark.parametrize("status", [500, 503, 404])
def test_error_statuses_are_down(http_server, status):
    http_server.answer(status, "broken")

    result = probe_endpoint(http_server.url)

    assert result.state == "down"
    assert result.error == f"HTTP {status}"
    assert result.latency_ms is not None
    assert result.details["status_code"] == status


@pytest.mark.parametrize("status, expected, state", [
    (503, "503", "up"),
    (204, "200", "down"),
    (204, "200,204,301-302", "up"),
    (302, "200,204,301-302", "up"),
    (303, "200,204,301-302", "down"),
    (418, "400-499", "up"),
])
def test_expected_statuses_decide(http_server, status, expected, state):
    http_server.answer(status, "")

    result = probe_endpoint(http_server.url, expected_statuses=expected,
                            follow_redirects=False)

    assert result.state == state


def test_expected_statuses_accept_parsed_ranges(http_server):
    http_server.answer(503)

    result = probe_endpoint(http_server.url, expected_statuses=parse_status_ranges("503"))

    assert result.state == "up"


def test_a_stopped_server_is_connection_refused_and_comes_back(http_server):
    http_server.stop()

    result = probe_endpoint(http_server.url)

    assert result.state == "down"
    assert result.error == "connection refused"
    assert result.latency_ms is None

    http_server.start()
    assert probe_endpoint(http_server.url).state == "up"


def test_a_hanging_server_is_cut_off_at_the_timeout(http_server):
    http_server.hang()

    result, elapsed = probe_timed(http_server.url, timeout=0.3)

    assert result.state == "down"
    assert result.error == "timed out after 0.3 s"
    assert 0.3 <= elapsed < 0.3 + MARGIN


def test_a_slow_server_within_the_timeout_is_up(http_server):
    http_server.answer(200, delay=0.2)

    result = probe_endpoint(http_server.url, timeout=2)

    assert result.state == "up"
    assert result.latency_ms >= 200


def test_a_server_slower_than_the_timeout_is_down(http_server):
    http_server.answer(200, delay=2)

    result, elapsed = probe_timed(http_server.url, timeout=0.3)

    assert result.error == "timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_a_trickled_body_is_cut_off_at_the_timeout(http_server):
    # Each byte comes well within a read timeout; only a deadline for the whole check stops it.
    http_server.answer(200, "x" * 200, trickle=0.05)

    result, elapsed = probe_timed(http_server.url, keyword="needle", timeout=0.5)

    assert result.state == "down"
    assert result.error == "timed out after 0.5 s"
    assert 0.5 <= elapsed < 0.5 + MARGIN


def test_the_timeout_covers_every_redirect(http_server):
    http_server.redirect("/", "/slow")
    http_server.answer(200, path="/slow", delay=0.2)
    http_server.redirect("/slow", "/slower")
    http_server.hang("/slower")

    result, elapsed = probe_timed(http_server.url, timeout=0.4)

    assert result.error == "timed out after 0.4 s"
    assert elapsed < 0.4 + MARGIN


def test_a_hanging_server_does_not_stall_other_checks(http_server):
    with LocalHttpServer() as stuck:
        stuck.hang()
        with ThreadPoolExecutor(max_workers=11) as pool:
            hung = pool.submit(probe_endpoint, stuck.url, timeout=3)
            started = time.perf_counter()
            others = list(pool.map(lambda _: probe_endpoint(http_server.url, timeout=3),
                                   range(10)))
            others_took = time.perf_counter() - started
            assert hung.result().error == "timed out after 3 s"

    assert all(result.state == "up" for result in others)
    assert others_took < 2


# --- keyword -------------------------------------------------------------------------------

def test_keyword_found_is_up(http_server):
    http_server.answer(200, "<html><body>All good: status ok</body></html>")

    assert probe_endpoint(http_server.url, keyword="status ok").state == "up"


def test_keyword_missing_is_down(http_server):
    http_server.answer(200, "<html>maintenance</html>")

    result = probe_endpoint(http_server.url, keyword="ok")

    assert result.state == "down"
    assert result.error == 'keyword "ok" not found'
    assert result.details["status_code"] == 200


def test_keyword_is_case_sensitive(http_server):
    http_server.answer(200, "STATUS OK")

    assert probe_endpoint(http_server.url, keyword="status ok").state == "down"


def test_keyword_split_across_reads_is_found(http_server):
    body = b"a" * (64 * 1024 - 3) + b"needle" + b"b" * 1000
    http_server.answer(200, body)

    assert probe_endpoint(http_server.url, keyword="needle").state == "up"


def test_keyword_beyond_the_body_limit_is_not_searched(http_server):
    http_server.answer(200, b"a" * BODY_LIMIT + b"needle")

    result = probe_endpoint(http_server.url, keyword="needle")

    assert result.error == 'keyword "needle" not found'


def test_keyword_in_the_declared_charset_is_found(http_server):
    http_server.answer(200, "état: opérationnel".encode("latin-1"),
                       headers={"Content-Type": "text/plain; charset=latin-1"})

    assert probe_endpoint(http_server.url, keyword="opérationnel").state == "up"


def test_keyword_is_searched_in_the_decompressed_body(http_server):
    http_server.answer(200, gzip.compress(b"<p>all systems go</p>"),
                       headers={"Content-Encoding": "gzip"})

    assert probe_endpoint(http_server.url, keyword="systems go").state == "up"


def test_keyword_is_not_checked_when_the_status_is_wrong(http_server):
    http_server.answer(500, "ok")

    assert probe_endpoint(http_server.url, keyword="ok").error == "HTTP 500"


# --- redirects -----------------------------------------------------------------------------

def test_redirects_are_followed(http_server):
    http_server.redirect("/", "/moved")
    http_server.answer(200, "here", path="/moved")

    result = probe_endpoint(http_server.url, keyword="here")

    assert result.state == "up"
    assert result.details == {"status_code": 200, "url": http_server.url_for("/moved")}


def test_redirects_to_another_server_are_followed(http_server):
    with LocalHttpServer() as other:
        other.answer(503)
        http_server.redirect("/", other.url_for("/health"))

        result = probe_endpoint(http_server.url)

        assert result.error == "HTTP 503"
        assert other.last_request.path == "/health"


def test_redirects_not_followed_are_judged_as_they_are(http_server):
    http_server.redirect("/", "/moved", status=301)

    assert probe_endpoint(http_server.url, follow_redirects=False).state == "up"
    result = probe_endpoint(http_server.url, follow_redirects=False, expected_statuses="200")
    assert result.error == "HTTP 301"
    assert [request.path for request in http_server.requests] == ["/", "/"]


def test_a_redirect_loop_is_too_many_redirects(http_server):
    http_server.redirect("/", "/a")
    http_server.redirect("/a", "/")

    result = probe_endpoint(http_server.url)

    assert result.state == "down"
    assert result.error == "too many redirects"


# --- request -------------------------------------------------------------------------------

def test_headers_are_sent(http_server):
    http_server.answer(200, require_headers={"Authorization": "Bearer s3cret"})

    without = probe_endpoint(http_server.url)
    with_header = probe_endpoint(http_server.url, headers={"Authorization": "Bearer s3cret"})

    assert without.error == "HTTP 401"
    assert with_header.state == "up"


def test_every_check_asks_for_a_new_connection(http_server):
    probe_endpoint(http_server.url, headers={"connection": "keep-alive", "X-Probe": "1"})

    headers = http_server.last_request.headers
    assert headers["Connection"] == "close"
    assert headers["X-Probe"] == "1"
    assert headers["User-Agent"].startswith("maintenant")


def test_a_user_agent_can_be_set(http_server):
    probe_endpoint(http_server.url, headers={"user-agent": "custom/1"})

    assert http_server.last_request.headers.get_all("User-Agent") == ["custom/1"]


@pytest.mark.parametrize("method", ["HEAD", "POST", "delete"])
def test_methods(http_server, method):
    http_server.answer(200, "ok")

    result = probe_endpoint(http_server.url, method=method)

    assert result.state == "up"
    assert http_server.last_request.method == method.upper()


def test_head_has_no_body_to_search(http_server):
    http_server.answer(200, "ok")

    assert probe_endpoint(http_server.url, method="HEAD", keyword="ok").state == "down"


# --- latency -------------------------------------------------------------------------------

def test_slower_than_the_latency_threshold_is_degraded(http_server):
    http_server.answer(200, delay=0.2)

    result = probe_endpoint(http_server.url, latency_threshold_ms=50)

    assert result.state == "degraded"
    assert result.latency_ms >= 200
    assert result.error.startswith("slow: answered in ")
    assert result.error.endswith("over the 50 ms threshold")


def test_faster_than_the_latency_threshold_is_up(http_server):
    result = probe_endpoint(http_server.url, latency_threshold_ms=5000)

    assert result.state == "up"
    assert result.error is None


def test_a_down_endpoint_is_never_degraded(http_server):
    http_server.answer(503, delay=0.1)

    assert probe_endpoint(http_server.url, latency_threshold_ms=1).state == "down"


# --- HTTPS ---------------------------------------------------------------------------------

def test_https_with_a_trusted_ca_is_up(https_server, certificates):
    result = probe_endpoint(https_server.url, ca_certs=certificates.ca_file)

    assert result.state == "up"
    assert https_server.last_request.path == "/"


def test_https_with_an_unknown_ca_is_down(https_server):
    result = probe_endpoint(https_server.url)

    assert result.state == "down"
    assert result.error == \
        "TLS certificate verify failed: unable to get local issuer certificate"


def test_https_without_verification_is_up(https_server):
    assert probe_endpoint(https_server.url, verify_tls=False).state == "up"


def test_https_with_an_expired_certificate_is_down(tls_server, certificates):
    server = tls_server(certificates.expired)

    result = probe_endpoint(server.url, ca_certs=certificates.ca_file)

    assert result.error == "TLS certificate verify failed: certificate has expired"
    assert probe_endpoint(server.url, verify_tls=False).state == "up"


def test_https_with_the_wrong_hostname_is_down(tls_server, certificates):
    server = tls_server(certificates.wrong_host)

    result = probe_endpoint(server.url, ca_certs=certificates.ca_file)

    assert result.error == ("TLS certificate verify failed: IP address mismatch, "
                            "certificate is not valid for '127.0.0.1'.")


def test_https_to_a_plain_http_server_is_a_tls_failure(http_server):
    result = probe_endpoint(http_server.url.replace("http://", "https://"))

    assert result.state == "down"
    assert result.error == "TLS handshake failed: wrong version number"


def test_http_redirect_to_https_is_followed(http_server, https_server, certificates):
    http_server.redirect("/", https_server.url_for("/secure"))

    result = probe_endpoint(http_server.url, ca_certs=certificates.ca_file)

    assert result.state == "up"
    assert https_server.last_request.path == "/secure"


# --- connection failures -------------------------------------------------------------------

def test_an_unknown_name_does_not_resolve():
    result = probe_endpoint("http://no-such-host.invalid/", timeout=5)

    assert result.state == "down"
    # Without any reachable DNS server the resolver says "try again" instead of "no such name".
    assert result.error == "name does not resolve" or \
        result.error.startswith("name lookup failed")


def test_a_reset_connection_is_reported():
    with LocalTcpServer("reset") as server:
        result = probe_endpoint(f"http://127.0.0.1:{server.port}/")

    assert result.state == "down"
    assert result.error == "connection reset"


def test_a_server_that_does_not_speak_http_is_reported():
    with LocalTcpServer(b"SSH-2.0-OpenSSH_9.6\r\n") as server:
        result = probe_endpoint(f"http://127.0.0.1:{server.port}/", timeout=2)

    assert result.state == "down"
    assert result.error == "not an HTTP answer: 'SSH-2.0-OpenSSH_9.6'"


def test_a_connect_that_hangs_is_cut_off():
    with unanswered_port() as port:
        result, elapsed = probe_timed(f"http://127.0.0.1:{port}/", timeout=0.3)

    assert result.error == "timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


# --- name lookups --------------------------------------------------------------------------

def test_a_name_lookup_that_hangs_is_cut_off_at_the_timeout(slow_names, http_server):
    name = slow_names.add("hanging-http.test")

    result, elapsed = probe_timed(f"http://{name}:{http_server.port}/", timeout=0.3)

    assert result.state == "down"
    assert result.error == "name lookup timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN
    assert http_server.requests == []


def test_a_tcp_name_lookup_that_hangs_is_cut_off_at_the_timeout(slow_names, tcp_server):
    name = slow_names.add("hanging-tcp.test")

    result, elapsed = probe_timed(f"tcp://{name}:{tcp_server.port}", timeout=0.3)

    assert result.error == "name lookup timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_a_slow_lookup_counts_against_the_timeout(slow_names, http_server):
    name = slow_names.add("slow.test", delay=0.3)
    http_server.answer(200, delay=0.3)

    result, elapsed = probe_timed(f"http://{name}:{http_server.port}/", timeout=0.5)

    # The lookup took 0.3 s of the 0.5: the answer, 0.3 s later, comes too late.
    assert result.error == "timed out after 0.5 s"
    assert elapsed < 0.5 + MARGIN


def test_checks_of_a_hanging_name_share_one_lookup_and_hold_up_no_one(slow_names,
                                                                      http_server):
    name = slow_names.add("hanging-shared.test")
    with ThreadPoolExecutor(max_workers=30) as pool:
        hung = [pool.submit(probe_timed, f"http://{name}:{http_server.port}/", timeout=0.5)
                for _ in range(20)]
        others = [pool.submit(probe_timed, url, timeout=0.5)
                  for url in [http_server.url_for("/by-address"),
                              f"http://localhost:{http_server.port}/by-name"] * 5]
        hung, others = [f.result() for f in hung], [f.result() for f in others]

    assert {result.error for result, _ in hung} == {"name lookup timed out after 0.5 s"}
    assert max(elapsed for _, elapsed in hung) < 0.5 + MARGIN
    assert slow_names.lookups == [name], "each check waited on a lookup of its own"
    assert [result.state for result, _ in others] == ["up"] * 10


def test_a_looked_up_name_is_still_the_host_the_sni_and_the_verified_name(slow_names,
                                                                          certificates):
    """Connected to the address found, the check still speaks to the server by name."""
    name = slow_names.add("wrong.example", delay=0.1)  # the only name wrong_host is valid for
    context = certificates.wrong_host.server_context()
    server_names = []
    context.sni_callback = lambda tls, server_name, _: server_names.append(server_name)
    with LocalHttpServer(ssl_context=context) as server:
        result = probe_endpoint(f"https://{name}:{server.port}/health",
                                ca_certs=certificates.ca_file, timeout=2)
        host_header = server.last_request.headers["Host"]

    assert result.state == "up", result.error
    assert host_header == f"{name}:{server.port}"
    assert server_names == [name]


def test_the_certificate_is_verified_against_the_name_not_the_address(tls_server,
                                                                      certificates):
    server = tls_server(certificates.wrong_host)

    result = probe_endpoint(f"https://localhost:{server.port}/", ca_certs=certificates.ca_file)

    assert result.state == "down"
    assert result.error == ("TLS certificate verify failed: Hostname mismatch, "
                            "certificate is not valid for 'localhost'.")


# --- TCP -----------------------------------------------------------------------------------

def test_tcp_listening_is_up(tcp_server):
    result = probe_endpoint(tcp_server.target)

    assert result.state == "up"
    assert result.latency_ms is not None
    assert result.error is None


def test_tcp_closed_is_connection_refused(tcp_server):
    tcp_server.stop()

    result = probe_endpoint(tcp_server.target)

    assert result.state == "down"
    assert result.error == "connection refused"


def test_tcp_connect_that_hangs_is_cut_off():
    with unanswered_port() as port:
        result, elapsed = probe_timed(f"tcp://127.0.0.1:{port}", timeout=0.3)

    assert result.error == "timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_tcp_checks_connect_and_leave(tcp_server):
    probe_endpoint(tcp_server.target)
    probe_endpoint(tcp_server.target)

    assert tcp_server.wait_for_connections(2)


# --- many at once --------------------------------------------------------------------------

def test_200_concurrent_probes_all_succeed(http_server):
    http_server.answer(200, "all systems go")

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(
            lambda _: probe_endpoint(http_server.url, keyword="go", timeout=10), range(200)))

    assert [result.state for result in results] == ["up"] * 200
    assert len(http_server.requests) == 200


def test_200_concurrent_https_probes_all_succeed(https_server, certificates):
    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(
            lambda _: probe_endpoint(https_server.url, ca_certs=certificates.ca_file,
                                     timeout=10), range(200)))

    assert {result.error for result in results} == {None}
