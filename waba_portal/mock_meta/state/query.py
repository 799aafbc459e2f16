"""How Graph reads answer: ``?fields=`` selection and cursor pagination."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from ..errors import GraphError, invalid_param


def parse_fields(raw: str | None) -> list[str] | None:
    """'a,b{c,d},e' -> ['a', 'b', 'e'] (nested selections are ignored)."""
    if not raw:
        return None
    out: list[str] = []
    depth = 0
    current = ""
    for ch in str(raw):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            if current.strip():
                out.append(current.strip())
            current = ""
        elif depth == 0:
            current += ch
    if current.strip():
        out.append(current.strip())
    return [f.split(".")[0] for f in out]


def select_fields(
    full: dict[str, Any], raw_fields: str | None, default: list[str], node_type: str
) -> dict[str, Any]:
    wanted = parse_fields(raw_fields) or default
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in full:
            raise GraphError(
                100,
                f"Tried accessing nonexisting field ({name}) on node type ({node_type})",
                message=(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
                ),
            )
        if full[name] is not None:
            out[name] = full[name]
    if "id" in full and "id" not in out and full.get("id") is not None:
        out["id"] = full["id"]
    return out


def paginate(
    items: list[dict[str, Any]], params: dict[str, Any], url: str, key: str = "id"
) -> dict[str, Any]:
    """Cursor pagination: cursors are base64 of the item key."""
    try:
        limit = max(1, min(int(params.get("limit") or 25), 100))
    except (TypeError, ValueError) as exc:
        raise invalid_param("limit must be an integer") from exc
    keys = [str(i.get(key)) for i in items]

    def decode(cursor: str) -> str:
        try:
            return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except Exception as exc:
            raise invalid_param("Invalid cursor") from exc

    start, end = 0, min(limit, len(items))
    if params.get("after"):
        pos = keys.index(decode(params["after"])) if decode(params["after"]) in keys else -1
        if pos < 0:
            raise invalid_param("Invalid cursor")
        start, end = pos + 1, min(pos + 1 + limit, len(items))
    elif params.get("before"):
        pos = keys.index(decode(params["before"])) if decode(params["before"]) in keys else -1
        if pos < 0:
            raise invalid_param("Invalid cursor")
        start, end = max(0, pos - limit), pos
    page = items[start:end]
    result: dict[str, Any] = {"data": page}
    if page:

        def enc(k: str) -> str:
            return base64.urlsafe_b64encode(k.encode()).decode().rstrip("=")

        before, after = enc(keys[start]), enc(keys[end - 1])
        paging: dict[str, Any] = {"cursors": {"before": before, "after": after}}
        base_q = {
            k: v
            for k, v in params.items()
            if k in ("fields", "limit", "status", "category", "language", "name", "content")
        }
        base_q["limit"] = str(limit)
        if end < len(items):
            paging["next"] = url + "?" + urlencode({**base_q, "after": after})
        if start > 0:
            paging["previous"] = url + "?" + urlencode({**base_q, "before": before})
        result["paging"] = paging
    return result
