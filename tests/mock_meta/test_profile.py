"""The mock's business profile and resumable upload, as Meta has them (NOTES §2).

Each refusal answers Meta's error envelope, validated against the spec's documented 400
of the operation; a refused update changes nothing; a picture handle is taken only when
it is the handle of a finished upload session, and the profile then reports a picture
URL the mock serves.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of
from .test_contract import validate

PROFILE = "/{Version}/{Phone-Number-ID}/whatsapp_business_profile"


def jpeg(side: int = 500) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def start(graph: Graph, mock_meta: MockMeta, data: bytes, file_type: str = "image/jpeg") -> str:
    answer = graph.post(
        f"{mock_meta.app_id}/uploads",
        params={"file_length": len(data), "file_type": file_type, "file_name": "logo.jpg"},
    )
    assert answer.status_code == 200, answer.text
    session = answer.json()["id"]
    assert session.startswith("upload:")
    return str(session)


def send(graph: Graph, session: str, data: bytes, offset: int = 0) -> requests.Response:
    return requests.post(
        f"{graph.base}/{session}",
        data=data,
        headers={"Authorization": f"OAuth {graph.token}", "file_offset": str(offset)},
        timeout=5,
    )


def update(graph: Graph, pid: str, **fields: Any) -> requests.Response:
    return graph.post(
        f"{pid}/whatsapp_business_profile", {"messaging_product": "whatsapp", **fields}
    )


def profile(graph: Graph, pid: str) -> dict[str, Any]:
    return dict(graph.get(f"{pid}/whatsapp_business_profile").json()["data"][0])


def refused(graph: Graph, pid: str, **fields: Any) -> dict[str, Any]:
    answer = update(graph, pid, **fields)
    assert answer.status_code == 400, answer.text
    validate(PROFILE, "post", answer.json(), status="400")
    return error_of(answer)


@pytest.mark.parametrize(
    ("field", "longest"), [("about", 139), ("address", 256), ("description", 512), ("email", 128)]
)
def test_text_limits_each_way(
    graph: Graph, seeded: dict[str, Any], field: str, longest: int
) -> None:
    pid = seeded["phone_number_id"]
    value = ("x" * (longest - 12) + "@example.com") if field == "email" else "x" * longest
    assert update(graph, pid, **{field: value}).json() == {"success": True}
    assert profile(graph, pid)[field] == value
    err = refused(graph, pid, **{field: value + "x"})
    assert err["code"] == 100 and f"Param {field}" in err["message"]
    assert f"at most {longest}" in err["error_data"]["details"]


def test_about_cannot_be_emptied_and_values_must_be_text(
    graph: Graph, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    assert "at least 1" in refused(graph, pid, about="")["message"]
    assert "must be a string" in refused(graph, pid, address=["a"])["message"]


@pytest.mark.parametrize("email", ["nope", "a@b", "a b@c.example", "@c.example"])
def test_a_bad_email_is_refused(graph: Graph, seeded: dict[str, Any], email: str) -> None:
    err = refused(graph, seeded["phone_number_id"], email=email)
    assert err["message"] == "(#100) Param email must be a valid email address"


def test_websites_http_or_https_at_most_two_of_256(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    good = ["https://a.example", "http://b.example:8080/path?q=1"]
    assert update(graph, pid, websites=good).json() == {"success": True}
    assert profile(graph, pid)["websites"] == good
    assert "at most 2" in refused(graph, pid, websites=[*good, "https://c.example"])["message"]
    for bad in ("ftp://a.example", "a.example", "https://", "javascript:alert(1)"):
        assert "websites[0]" in refused(graph, pid, websites=[bad])["message"], bad
    long = "https://a.example/" + "x" * 239
    assert "websites[1]" in refused(graph, pid, websites=[good[0], long])["message"]
    assert update(graph, pid, websites=[long[:-1]]).json() == {"success": True}


def test_vertical_from_the_list_meta_takes(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    assert profile(graph, pid)["vertical"] == "UNDEFINED"  # what a new number reads
    assert update(graph, pid, vertical="OTC_DRUGS").json() == {"success": True}
    for bad in ("SPACE", "UNDEFINED", "NOT_A_BIZ", "retail"):
        assert "Param vertical must be one of" in refused(graph, pid, vertical=bad)["message"]
    assert profile(graph, pid)["vertical"] == "OTC_DRUGS"


def test_a_refused_update_changes_nothing(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    update(graph, pid, about="Before", email="a@b.example")
    refused(graph, pid, about="After", email="broken")
    after = profile(graph, pid)
    assert (after["about"], after["email"]) == ("Before", "a@b.example")


def test_a_picture_handle_must_be_of_a_finished_upload(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    logo = jpeg()
    assert (
        "finished upload" in refused(graph, pid, profile_picture_handle="4::bm9wZQ==:x")["message"]
    )
    session = start(graph, mock_meta, logo)
    # Half of the file: not finished, no handle yet, and the offset says where to go on.
    half = send(graph, session, logo[:1000]).json()
    assert half == {"id": session, "file_offset": 1000}
    assert graph.get(session).json() == {"id": session, "file_offset": 1000}
    err = error_of(send(graph, session, logo[2000:], offset=2000))
    assert "file_offset must be 1000" in err["error_data"]["details"]
    handle = send(graph, session, logo[1000:], offset=1000).json()["h"]
    # The last part sent again (its answer lost): the same handle, nothing appended.
    assert send(graph, session, logo[1000:], offset=1000).json() == {"h": handle}
    err = error_of(send(graph, session, b"more", offset=len(logo)))
    assert "longer than its file_length" in err["error_data"]["details"]
    assert update(graph, pid, profile_picture_handle=handle).json() == {"success": True}
    url = profile(graph, pid)["profile_picture_url"]
    assert url.startswith(mock_meta.base_url + "/pps/")
    served = requests.get(url, timeout=5)
    assert served.content == logo and served.headers["Content-Type"] == "image/jpeg"


def test_a_handle_of_something_that_is_no_picture_is_refused(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    pdf = b"%PDF-1.4 not a picture"
    handle = send(graph, start(graph, mock_meta, pdf, "application/pdf"), pdf).json()["h"]
    assert "JPEG or PNG" in refused(graph, pid, profile_picture_handle=handle)["message"]
    fake = b"not really a jpeg at all"
    handle = send(graph, start(graph, mock_meta, fake), fake).json()["h"]
    assert "JPEG or PNG" in refused(graph, pid, profile_picture_handle=handle)["message"]


def test_upload_sessions_check_their_parameters(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    app = mock_meta.app_id
    for params, words in (
        ({"file_type": "image/jpeg"}, "file_length is required"),
        ({"file_length": "ten", "file_type": "image/jpeg"}, "must be an integer"),
        ({"file_length": 0, "file_type": "image/jpeg"}, "between 1 and"),
        ({"file_length": 10, "file_type": "image/gif"}, "not a supported type"),
    ):
        err = error_of(graph.post(f"{app}/uploads", params=params))
        assert err["code"] == 100 and words in err["message"] + err["error_data"]["details"]
    assert (
        error_of(graph.post("999/uploads", params={"file_length": 1, "file_type": "image/jpeg"}))[
            "code"
        ]
        == 100
    )
    session = start(graph, mock_meta, b"abc")
    assert "no data" in error_of(send(graph, session, b""))["error_data"]["details"]
    assert error_of(send(graph, "upload:424242", b"abc"))["code"] == 100
