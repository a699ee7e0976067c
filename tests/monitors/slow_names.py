"""Host names whose lookup is slow or hangs: a stand-in for a resolver that cannot run here.

The tests have no DNS server to make slow, so socket.getaddrinfo is wrapped for the names a
test adds, and only for them: they resolve to the local servers' address (servers.HOST)
after a delay, or not until the test ends. Every other name, and everything after the
lookup (connect, TLS, HTTP), is real.
"""

import socket
import threading

import pytest

from .servers import HOST


class SlowNames:
    """Names added with `add` resolve to HOST after `delay` seconds (None: at the test's end)."""

    def __init__(self, real_getaddrinfo):
        self.real_getaddrinfo = real_getaddrinfo
        self.delays = {}
        self.lookups = []  # the added names looked up, once per getaddrinfo call
        self.released = threading.Event()

    def add(self, name, delay=None):
        self.delays[name] = delay
        return name

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.delays:
            return self.real_getaddrinfo(host, port, *args, **kwargs)
        self.lookups.append(host)
        self.released.wait(self.delays[host])
        return self.real_getaddrinfo(HOST, port, *args, **kwargs)


@pytest.fixture
def slow_names(monkeypatch):
    """A SlowNames wrapped around socket.getaddrinfo; hanging lookups end with the test."""
    names = SlowNames(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", names.getaddrinfo)
    yield names
    names.released.set()
