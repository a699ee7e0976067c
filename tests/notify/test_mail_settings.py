"""SMTP_TLS: the three modes, the default by port, and a wrong value refused at start-up."""

import pytest

from maintenant.config import smtp_tls_mode


@pytest.mark.parametrize("value, port, mode", [
    (None, 587, "starttls"), (None, 465, "tls"), (None, 25, "none"), ("", 2525, "none"),
    ("STARTTLS", 25, "starttls"), (" tls ", 587, "tls"), ("none", 465, "none"),
])
def test_the_mode_comes_from_smtp_tls_or_the_port(value, port, mode):
    assert smtp_tls_mode(value, port) == mode


@pytest.mark.parametrize("value", ["ssl", "yes", "true", "starttls;"])
def test_a_wrong_mode_names_the_ones_that_exist(value):
    with pytest.raises(ValueError, match="starttls, tls, none"):
        smtp_tls_mode(value, 25)
