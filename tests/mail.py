"""A real SMTP server for tests (aiosmtpd) that records what it receives.

    from mail import smtp_server   # in a conftest: the fixture

    def test_something(app, smtp_server):
        app.config.update(smtp_server.settings())
        ...
        [message] = smtp_server.messages   # email.message.EmailMessage, with .envelope
"""

import email
import socket
import threading
from dataclasses import dataclass
from email import policy

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    session: int = 0  # one value per SMTP connection


class _Recorder:
    def __init__(self, owner):
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):
        if self.owner.refuse:
            return self.owner.refuse
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=policy.default)
        with self.owner.lock:
            self.owner.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                                message, id(session)))
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on a free local port, in a thread of the test process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []
        # An SMTP reply to answer every message with instead of accepting it ("451 ...").
        self.refuse = None
        self.port = free_port()
        self.controller = Controller(_Recorder(self), hostname=HOST, port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def settings(self, **extra):
        """The app config that sends mail here."""
        return {"SMTP_HOST": HOST, "SMTP_PORT": self.port, "SMTP_USERNAME": None,
                "SMTP_PASSWORD": None, "SMTP_TLS": "none",
                "SMTP_FROM": "status@maintenant.test", **extra}

    @property
    def messages(self):
        with self.lock:
            return [item.message for item in self.received]

    @property
    def connections(self):
        """How many SMTP connections delivered the messages received."""
        with self.lock:
            return len({item.session for item in self.received})

    def recipients(self):
        """Every envelope recipient, once per message received."""
        with self.lock:
            return [rcpt for item in self.received for rcpt in item.rcpt_tos]


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A running SmtpServer; apply ``smtp_server.settings()`` to the app's config."""
    server = SmtpServer().start()
    yield server
    server.stop()
