"""How the public page shows maintenance in progress and upcoming."""

import re
from datetime import timedelta

from maintenant.public.render import utc_iso

from factories import make_component, make_maintenance


def card(html, window):
    return re.search(rf'<article [^>]*id="maintenance-{window.id}">(.*?)</article>', html,
                     re.S).group(1)


def test_a_window_in_progress_shows_when_it_ends(client):
    component = make_component("Database")
    running = make_maintenance("Failover", [component], starts_in=-timedelta(minutes=10),
                               lasts=timedelta(hours=1))
    later = make_maintenance("Upgrade", [component], starts_in=timedelta(days=1))

    html = client.get("/status/").get_data(as_text=True)

    section = html[html.index('id="maintenance-in-progress"'):html.index('id="components"')]
    assert f'id="maintenance-{running.id}"' in section
    text = card(html, running)
    assert "In progress" in text
    assert re.search(r'Started <time datetime="[^"]+">[^<]+</time>, ends '
                     rf'<time datetime="{utc_iso(running.ends_at)}">', text)
    assert "Started" not in card(html, later)
