"""Fixtures for monitor tests: the local HTTP, TCP and TLS servers of servers.py."""

from .servers import certificates, http_server, https_server, tcp_server, tls_server  # noqa: F401
