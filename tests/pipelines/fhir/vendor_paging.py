"""Search answers in pages, as Epic and Oracle Health page them (sources: docs/vendors.md).

The server chooses the page size: ``_count`` is honoured up to a maximum, a search without it gets
the default. Each page but the last carries ``Bundle.link[next]``: an opaque page token the client
must follow as given (it cannot build the URL itself). The result set is fixed when the search
runs, so a page token always answers the same rest of it. With ``next_host="storage"`` the next
link names another host (a fault: a client must not send its token there).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

FHIR_JSON = "application/fhir+json"
PAGES_PATH = "/fhir/_search-pages/{token}"


@dataclass(frozen=True)
class Paging:
    default: int = 50
    maximum: int = 100
    next_host: str = "fhir"  # "fhir" | "storage"


# Page sizes are the emulator's choice (*assumed*): the vendors document paging, not the sizes.
PAGING = {
    "epic": Paging(default=50, maximum=100),
    "oracle": Paging(default=20, maximum=100),
    "athena": Paging(default=20, maximum=100),
    "bulk-ig": Paging(default=50, maximum=500),
}


@dataclass
class _Rest:
    rtype: str
    hits: list[dict[str, Any]]
    offset: int
    size: int


@dataclass
class SearchPages:
    """Page store of one emulator: open page tokens and what the tests may count."""

    paging: Paging
    fhir_url: str = ""
    storage_url: str = ""
    open: dict[str, _Rest] = field(default_factory=dict)
    pages_served: int = 0
    followed: int = 0
    asked_at_storage: int = 0

    def first(self, rtype: str, hits: list[dict[str, Any]], count: str | None) -> Response:
        size = self.paging.default
        if count and count.isdigit() and int(count) > 0:
            size = min(int(count), self.paging.maximum)
        return self._page(_Rest(rtype, hits, 0, size))

    async def next(self, request: Request) -> Response:
        rest = self.open.pop(request.path_params["token"], None)
        if rest is None:
            return _outcome(410, "unknown or used page token")
        self.followed += 1
        return self._page(rest)

    async def at_storage(self, request: Request) -> Response:
        self.asked_at_storage += 1
        return _outcome(404, "not a FHIR server")

    def _page(self, rest: _Rest) -> Response:
        self.pages_served += 1
        end = rest.offset + rest.size
        hits = rest.hits[rest.offset : end]
        entries = [{"resource": r, "search": {"mode": "match"}} for r in hits]
        body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        body |= {"total": len(rest.hits), "link": [], "entry": entries}
        if end < len(rest.hits):
            token = secrets.token_urlsafe(12)
            self.open[token] = _Rest(rest.rtype, rest.hits, end, rest.size)
            host = self.storage_url if self.paging.next_host == "storage" else self.fhir_url
            body["link"].append({"relation": "next", "url": f"{host}/fhir/_search-pages/{token}"})
        return JSONResponse(body, media_type=FHIR_JSON)


def _outcome(status: int, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }
    return JSONResponse(body, status, media_type=FHIR_JSON)
