from waba_portal.mock_meta.control_client import MockMeta


def test_fixture_exposes_urls_and_credentials(mock_meta: MockMeta) -> None:
    assert mock_meta.base_url.startswith("http://127.0.0.1:")
    assert mock_meta.graph_url == mock_meta.base_url + "/v23.0"
    assert mock_meta.app_id == "100000000000001"
    assert mock_meta.app_secret == "test-app-secret"
    assert mock_meta.verify_token == "test-verify-token"
    assert mock_meta.health()


def test_the_favicon_browsers_ask_the_mock_for_is_no_error(mock_meta) -> None:  # type: ignore[no-untyped-def]
    import requests

    response = requests.get(mock_meta.base_url + "/favicon.ico", timeout=5)
    assert response.status_code == 204
