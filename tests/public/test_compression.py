"""The page (and its JSON) go out gzipped to clients that accept it, compressed once."""

import gzip

from factories import make_component


def test_the_page_is_gzipped_for_clients_that_accept_it(client):
    for n in range(20):
        make_component(f"Component {n}")
    plain = client.get("/status/")
    packed = client.get("/status/", headers={"Accept-Encoding": "gzip, deflate, br"})

    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) * 3 < len(plain.data)
    for response in (plain, packed):
        assert "Accept-Encoding" in response.headers["Vary"]
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert int(packed.headers["Content-Length"]) == len(packed.data)


def test_each_encoding_revalidates_against_its_own_etag(client):
    make_component("API")
    packed = client.get("/status/", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/status/")

    assert client.get("/status/", headers={"Accept-Encoding": "gzip",
                                           "If-None-Match": packed.headers["ETag"]}
                      ).status_code == 304
    assert client.get("/status/", headers={"If-None-Match": plain.headers["ETag"]}
                      ).status_code == 304
    # A client that stopped accepting gzip must not be told its gzipped copy is current.
    assert client.get("/status/", headers={"If-None-Match": packed.headers["ETag"]}
                      ).status_code == 200


def test_gzip_q_zero_means_no(client):
    make_component("API")
    response = client.get("/status/", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers
