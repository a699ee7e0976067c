"""The page speaks the reader's language: Accept-Language, or ?lang= to pin one."""

import pytest


@pytest.mark.parametrize("headers, query, language, headline", [
    ({}, "", "en", "All Systems Operational"),
    ({"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}, "", "fr",
     "Tous les systèmes sont opérationnels"),
    ({"Accept-Language": "de-DE,de;q=0.9"}, "", "en", "All Systems Operational"),
    ({"Accept-Language": "fr"}, "?lang=en", "en", "All Systems Operational"),
    ({}, "?lang=fr", "fr", "Tous les systèmes sont opérationnels"),
    ({}, "?lang=xx", "en", "All Systems Operational"),
])
def test_the_reader_gets_their_language(client, headers, query, language, headline):
    response = client.get(f"/status/{query}", headers=headers)

    assert response.status_code == 200
    assert response.headers["Content-Language"] == language
    assert "Accept-Language" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}" ' in html
    assert headline in html


def test_each_language_has_its_own_cached_copy_and_etag(client):
    english = client.get("/status/")
    french = client.get("/status/", headers={"Accept-Language": "fr"})

    assert english.headers["ETag"] != french.headers["ETag"]
    again = client.get("/status/", headers={"Accept-Language": "fr",
                                            "If-None-Match": french.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/status/", headers={"If-None-Match": french.headers["ETag"]}
                      ).status_code == 200
