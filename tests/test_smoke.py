def test_page_api_empty(client):
    response = client.get("/status/api")
    assert response.status_code == 200
    assert response.get_json()["message"] == "All Systems Operational"
