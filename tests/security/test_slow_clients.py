"""Slowloris against the Procfile's web command: 200 connections dribbling a request one byte a
second do not keep a normal reader from the page, and the server drops them.

gunicorn's gevent worker (27.x) gives each connection a greenlet and reads every request head,
the first one included, under ``gevent.Timeout(keepalive)``: a head that is not complete
within ``keepalive`` seconds (2 by default; gunicorn_conf.py leaves it) ends the connection
without an answer. A slow *body* is not under that timeout; the body limit (1 MiB) bounds its
size, a reverse proxy its pace.
"""

import socket
import threading
import time
import urllib.request

from browser.conftest import server  # noqa: F401 (fixture: gunicorn from the Procfile)

SLOW = 200
DRIBBLE_SECONDS = 6


def open_slow(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /status/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the rest never comes
    return sock


def dribble(sockets, stop):
    """One byte a second on every slow connection; counts those the server closed."""
    closed = set()
    while not stop.is_set():
        for index, sock in enumerate(sockets):
            if index in closed:
                continue
            try:
                sock.sendall(b"X")
            except OSError:
                closed.add(index)
        stop.wait(1)
    return closed


def test_slow_clients_do_not_stall_the_page(server):  # noqa: F811
    sockets = [open_slow(server.port) for _ in range(SLOW)]
    stop = threading.Event()
    result = {}
    worker = threading.Thread(target=lambda: result.update(closed=dribble(sockets, stop)))
    worker.start()
    slowest, answers = 0.0, []
    try:
        deadline = time.monotonic() + DRIBBLE_SECONDS
        while time.monotonic() < deadline:
            for path in ("/status/", "/status/api", "/status/badge.svg"):
                started = time.monotonic()
                with urllib.request.urlopen(server.url + path, timeout=5) as response:
                    response.read()
                    answers.append(response.status)
                slowest = max(slowest, time.monotonic() - started)
    finally:
        stop.set()
        worker.join()
        still_open = SLOW - len(result.get("closed", ()))
        for sock in sockets:
            sock.close()
    assert answers and set(answers) == {200}
    # Generous for a loaded CI machine; the typical answer takes milliseconds.
    assert slowest < 2.0, f"a page request took {slowest:.2f} s behind {SLOW} slow clients"
    print(f"{len(answers)} page requests in {DRIBBLE_SECONDS} s behind {SLOW} slow clients, "
          f"slowest {slowest * 1000:.0f} ms; {still_open} slow connections still open")
    # gevent.Timeout(keepalive) ended every one of them while they were still sending.
    assert still_open == 0
    # A fresh connection is still served after them.
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
        assert response.status == 200
