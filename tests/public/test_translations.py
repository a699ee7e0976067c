"""Every string a reader sees is translatable, and French has them all: the page, its live
script's words, the subscription pages and the emails."""

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import refresh

from factories import make_component, make_incident
from maintenant.notify import messages
from maintenant.public.render import local_time

ROOT = Path(__file__).resolve().parents[2]
FRENCH = ROOT / "maintenant" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
SOURCES = [("maintenant", [("**.py", "python")]),
           ("templates", [("**.html", "jinja2"), ("**.txt", "jinja2")])]
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def extracted():
    """{msgid: "file:line"} of every string marked for translation, as pybabel extracts it."""
    found = {}
    for folder, method_map in SOURCES:
        for filename, lineno, message, _, _ in extract_from_dir(
                str(ROOT / folder), method_map=method_map, keywords=DEFAULT_KEYWORDS):
            for msgid in (message if isinstance(message, tuple) else (message,)):
                if msgid:
                    found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def french():
    with FRENCH.open("rb") as handle:
        return read_po(handle, locale="fr", abort_invalid=True)


def test_the_extraction_finds_the_page_strings():
    found = extracted()
    for msgid in ("Skip to main content", "Operational", "Active incidents", "Get notified",
                  "Confirm your subscription", "updated %(time)s", "All Systems Operational"):
        assert msgid in found, msgid


def test_every_string_has_a_french_translation():
    catalog = french()
    missing = [f"{msgid!r} ({where})" for msgid, where in sorted(extracted().items())
               if msgid not in catalog or not catalog[msgid].string]
    assert missing == [], "no French for:\n" + "\n".join(missing)


def test_french_keeps_every_placeholder():
    wrong = []
    for message in french():
        if not message.id or not message.string:
            continue
        names = lambda text: sorted(filter(None, sum(PLACEHOLDERS.findall(text), ())))
        if names(message.id) != names(message.string):
            wrong.append(message.id)
    assert wrong == []


def test_the_catalogue_has_each_msgid_once():
    ids = re.findall(r'^msgid "(.+)"$', FRENCH.read_text(encoding="utf-8"), re.M)
    assert len(ids) == len(set(ids))


# The page in French


def french_page(client, **kwargs):
    response = client.get("/status/?lang=fr", **kwargs)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    return response.get_data(as_text=True)


def test_the_french_page_speaks_french(client, app):
    component = make_component("API")
    make_incident(title="Erreurs", severity="major", components_=[component])
    html = french_page(client)
    for text in ("Incidents en cours", "Composants", "Incidents passés", "Incident majeur",
                 "Panne partielle", "Aller au contenu principal", "Être prévenu par e-mail",
                 "Les heures sont indiquées dans le fuseau UTC.", "Panne partielle"):
        assert text in html, text
    for english in ("Active incidents", "Past incidents", "Skip to main content",
                    "Major incident", "Times are shown in"):
        assert english not in html, english


def test_the_live_script_gets_its_words_in_french(client):
    html = french_page(client)
    labels = json.loads(re.search(r"data-labels='([^']*)'", html).group(1))
    text = json.loads(re.search(r"data-text='([^']*)'", html).group(1))
    assert labels["major_outage"] == "Panne majeure"
    assert text["live"] == "En direct"
    assert text["updated"] == "mis à jour à {time}"
    assert text["months"][10] == "nov."
    assert text["headlines"]["All Systems Operational"] == "Tous les systèmes sont opérationnels"
    assert text["zone_note"] == "Les heures sont indiquées dans le fuseau {zone}."


def test_the_live_script_has_no_words_of_its_own():
    script = (ROOT / "templates" / "status" / "live.js").read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)
    # Strings of two or more words that start with a capital: phrases a reader would see.
    phrases = re.findall(r'["`]([A-Z][a-z]+ [a-z][^"`]*)["`]', code)
    assert phrases == []


def test_times_name_the_month_in_the_readers_language_and_keep_the_zone(app):
    with app.test_request_context("/status/?lang=fr"):
        refresh()  # Flask-Babel keeps the choice on the app context; a request makes it afresh
        assert local_time("2026-11-27T13:03:00Z", "Europe/Paris") == "27 nov. 2026, 14:03 CET"
        assert local_time("2026-02-03T13:03:00Z", "UTC") == "3 févr. 2026, 13:03 UTC"
    with app.test_request_context("/status/?lang=en"):
        refresh()
        assert local_time("2026-11-27T13:03:00Z", "Europe/Paris") == "27 Nov 2026, 14:03 CET"


def test_the_language_switcher_links_both_languages(client):
    html = french_page(client)
    nav = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]*)" lang="(\w+)"[^>]*?( aria-current="true")?>([^<]*)</a>',
                       nav)
    assert links == [("/status/?lang=en", "en", "", "English"),
                     ("/status/?lang=fr", "fr", ' aria-current="true"', "Français")]


def test_the_pages_language_is_the_default_for_readers_who_ask_for_none(client, api):
    assert api.put("/status/settings", json={"language": "fr"}).status_code == 200
    response = client.get("/status/")
    assert response.headers["Content-Language"] == "fr"
    assert "Tous les systèmes sont opérationnels" in response.get_data(as_text=True)
    english = client.get("/status/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert english.headers["Content-Language"] == "en"
    assert "All Systems Operational" in english.get_data(as_text=True)
    # German is not one of ours: the page's own language.
    assert client.get("/status/", headers={"Accept-Language": "de"}
                      ).headers["Content-Language"] == "fr"


def test_the_subscription_pages_speak_french(client):
    response = client.get("/status/subscribe?lang=fr")
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "fr"
    assert '<html lang="fr"' in html
    assert "Être prévenu" in html and "Adresse e-mail" in html and "S’abonner" in html
    dead = client.get("/status/subscription/not-a-token?lang=fr")
    assert dead.status_code == 404
    assert "Lien expiré" in dead.get_data(as_text=True)


@pytest.mark.parametrize("language, subject, words", [
    ("en", "Confirm your subscription", "Confirm my subscription"),
    ("fr", "Confirmez votre abonnement", "Confirmer mon abonnement"),
])
def test_emails_are_written_in_the_pages_language(app, api, language, subject, words):
    assert api.put("/status/settings", json={"language": language, "title": "Acme"}
                   ).status_code == 200

    class Reader:
        email = "reader@example.com"

    with app.app_context():
        message = messages.confirmation(Reader(), "token")
    assert message["Subject"] == f"[Acme] {subject}"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert words in html and f'<html lang="{language}">' in html
    assert "reader@example.com" in text
