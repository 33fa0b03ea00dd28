"""A loopback FHIR server that behaves as the vendors document their bulk and search APIs.

Profiles (sources and assumptions: docs/vendors.md):

* ``epic``: Group-level ``$export`` only, no ``_since`` (400), a second export of a group within
  24 hours refused with "requested too recently"; search needs ``patient=`` and, for Observation,
  ``category`` or ``code``; notes are url-only Binary served in their native form only.
* ``oracle``: Group and Patient export, Patient export of all patients refused; one export at a
  time (429 while one runs), a 429 while polling; files through a 307 to pre-signed storage on
  another host that refuses a request carrying a token; search needs ``patient=``.
* ``athena``: Group export with a group id ``a-1.c-<practiceId>``, status under ``/bulk/status``.
* ``bulk-ig``: the Bulk Data IG's allowances: system export, ``Retry-After`` as an HTTP date,
  the status URL and the files on another host, ``requiresAccessToken: false``, an ``error`` file.

Two uvicorn servers run in threads on loopback: the FHIR host and the "storage" host. Every FHIR
request must carry the static bearer token, or with a vendor token endpoint (``vendor_token.py``)
one that endpoint issued and that has not expired; the storage host refuses one. Search answers
come in pages (``vendor_paging.py``).
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.pipelines.fhir.loopback import serve
from tests.pipelines.fhir.server import DEV_TOKEN
from tests.pipelines.fhir.vendor_paging import PAGES_PATH, PAGING, Paging, SearchPages
from tests.pipelines.fhir.vendor_token import TokenEndpoint

PROFILES = ("epic", "oracle", "athena", "bulk-ig")
GROUP_IDS = {
    "epic": "eIscQb2HmqkT.aPxh6O8lWXQ3",
    "oracle": "11ec-d16a-c763b73e-98e8-a31715e6a2bf",
    "athena": "a-1.c-195900",
    "bulk-ig": "all-patients",
}
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Behaviour:
    levels: frozenset[str]  # "system", "patient", "group"
    since_supported: bool = True
    once_per_day: bool = False
    busy_kick_offs: int = 0
    poll_429s: int = 0
    redirect_files: bool = False
    files_on_storage: bool = False
    status_on_storage: bool = False
    requires_token: bool = True
    status_path: str = "/fhir/bulk-status"
    search_needs_patient: bool = False
    observation_needs_filter: bool = False
    binary_notes: bool = False
    http_date_retry_after: bool = False
    error_file: bool = False


BEHAVIOURS = {
    "epic": Behaviour(
        frozenset({"group"}),
        since_supported=False,
        once_per_day=True,
        search_needs_patient=True,
        observation_needs_filter=True,
        binary_notes=True,
    ),
    "oracle": Behaviour(
        frozenset({"group", "patient"}),
        busy_kick_offs=2,
        poll_429s=1,
        redirect_files=True,
        search_needs_patient=True,
    ),
    "athena": Behaviour(frozenset({"group"}), status_path="/bulk/status"),
    "bulk-ig": Behaviour(
        frozenset({"system", "patient", "group"}),
        files_on_storage=True,
        status_on_storage=True,
        requires_token=False,
        http_date_retry_after=True,
        error_file=True,
    ),
}


def outcome(status: int, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }
    return JSONResponse(body, status, media_type=FHIR_JSON)


@dataclass
class Job:
    types: tuple[str, ...]
    polls: int = 0
    files: dict[str, bytes] = field(default_factory=dict)


class Emulator:
    """One vendor profile over one data directory of ``<Type>.ndjson`` files."""

    # Notes served url-only, their text behind a Binary, whatever the profile (later nights).
    binary_note_ids: frozenset[str] = frozenset()

    def __init__(self, profile: str, data_dir: Path, token: TokenEndpoint | None = None) -> None:
        self.profile = profile
        self.token = token
        self.behaviour = BEHAVIOURS[profile]
        self.group_id = GROUP_IDS[profile]
        self.resources: dict[str, list[dict[str, Any]]] = {}
        self.binaries: dict[str, tuple[str, bytes]] = {}
        for path in sorted(data_dir.glob("*.ndjson")):
            items = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
            self.resources[path.name.split(".")[0]] = [self._served(r) for r in items]
        self.jobs: dict[str, Job] = {}
        self.job_ids = itertools.count(1)
        self.exports_started = 0
        self.busy_left = self.behaviour.busy_kick_offs
        self.seen: Counter[str] = Counter()  # behaviour -> times exercised (for the tests)
        self.tokens_at_storage = 0
        self.fhir_url = self.storage_url = ""
        self.pages = SearchPages(PAGING[profile])

    def _served(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Epic keeps note text in Binary: url-only attachments, the bytes behind the url."""
        in_binary = self.behaviour.binary_notes or resource.get("id") in self.binary_note_ids
        if not in_binary or resource["resourceType"] != "DocumentReference":
            return resource
        for number, content in enumerate(resource.get("content") or []):
            attachment = content.get("attachment") or {}
            if "data" in attachment:
                binary_id = f"{resource['id']}-{number}"
                media = attachment.get("contentType", "text/plain")
                self.binaries[binary_id] = (media, base64.b64decode(attachment.pop("data")))
                attachment["url"] = f"Binary/{binary_id}"
        return resource

    # FHIR host -------------------------------------------------------------------------
    def fhir_app(self) -> Starlette:
        routes = [
            Route("/fhir/metadata", self.metadata),
            *self._token_routes(),
            Route("/fhir/$export", self.kick_off),
            Route("/fhir/Patient/$export", self.kick_off),
            Route("/fhir/Group/{gid}/$export", self.kick_off),
            Route(self.behaviour.status_path + "/{job}", self.status, methods=["GET", "DELETE"]),
            Route("/fhir/files/{job}/{name}", self.fhir_file),
            Route("/fhir/Group/{gid}", self.group),
            Route("/fhir/Binary/{bid}", self.binary),
            Route(PAGES_PATH, self.pages.next),
            Route("/fhir/{rtype}", self.search),
        ]
        return Starlette(
            routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._require_token)]
        )

    def _token_routes(self) -> list[Route]:
        return [] if self.token is None else self.token.routes()

    async def _require_token(self, request: Request, call_next: Any) -> Response:
        # The CapabilityStatement is public on these servers, as FHIR and SMART expect.
        open_paths = ("/fhir/metadata", *(self.token.open_paths() if self.token else ()))
        header = request.headers.get("Authorization", "")
        static = header == f"Bearer {DEV_TOKEN}"
        authorised = self.token.authorises(header) if self.token else static
        if request.url.path not in open_paths and not authorised:
            return outcome(401, "missing or wrong bearer token")
        response: Response = await call_next(request)
        return response

    async def metadata(self, request: Request) -> Response:
        export = [{"name": "export"}]
        levels = self.behaviour.levels
        resources = [
            {"type": "Patient", "operation": export if "patient" in levels else []},
            {"type": "Group", "operation": export if "group" in levels else []},
        ]
        rest = {"mode": "server", "resource": resources}
        rest["operation"] = export if "system" in levels else []
        body = {"resourceType": "CapabilityStatement", "status": "active", "rest": [rest]}
        return JSONResponse(body, media_type=FHIR_JSON)

    async def kick_off(self, request: Request) -> Response:
        path, params = request.url.path, request.query_params
        level = "group" if "/Group/" in path else "patient" if "/Patient/" in path else "system"
        if level not in self.behaviour.levels:
            return outcome(404, f"{level}-level export is not supported")
        if level == "group" and request.path_params["gid"] != self.group_id:
            return outcome(404, "unknown group")
        if level == "patient" and self.profile == "oracle" and "patient" not in params:
            self.seen["patient export of all patients refused"] += 1
            return outcome(400, "A patient parameter is required for Patient export")
        if "_since" in params and not self.behaviour.since_supported:
            self.seen["_since refused"] += 1
            return outcome(400, "The _since parameter is not supported")
        if request.headers.get("Prefer") != "respond-async":
            return outcome(400, "Prefer: respond-async is required")
        if self.behaviour.once_per_day and self.exports_started:
            self.seen["requested too recently"] += 1
            return outcome(400, "Bulk export for this group was requested too recently")
        if self.busy_left:
            self.busy_left -= 1
            self.seen["429 at kick-off"] += 1
            return self._busy()
        self.exports_started += 1
        types = tuple(params.get("_type", "").split(",")) if params.get("_type") else ()
        job_id = str(next(self.job_ids))
        self.jobs[job_id] = Job(types or tuple(self.resources))
        host = self.storage_url if self.behaviour.status_on_storage else self.fhir_url
        location = f"{host}{self.behaviour.status_path}/{job_id}"
        return Response(status_code=202, headers={"Content-Location": location})

    def _busy(self) -> Response:
        response = outcome(429, "Another export is running")
        response.headers["Retry-After"] = self._retry_after()
        return response

    def _retry_after(self) -> str:
        if self.behaviour.http_date_retry_after:
            return email.utils.formatdate(time.time() + 1, usegmt=True)
        return "1"

    async def status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job"])
        if job is None:
            return outcome(404, "unknown job")
        if request.method == "DELETE":
            del self.jobs[request.path_params["job"]]
            return Response(status_code=202)
        job.polls += 1
        if job.polls == 1:
            self.seen["202 with Retry-After"] += 1
            headers = {"Retry-After": self._retry_after(), "X-Progress": "in-progress"}
            return Response(status_code=202, headers=headers)
        if job.polls - 1 <= self.behaviour.poll_429s:
            self.seen["429 while polling"] += 1
            response = outcome(429, "Too many status requests")
            response.headers["Retry-After"] = "1"
            return response
        return JSONResponse(self._manifest(request.path_params["job"], job))

    def _manifest(self, job_id: str, job: Job) -> dict[str, Any]:
        host = self.storage_url + "/s3" if self.behaviour.files_on_storage else None
        base = host or f"{self.fhir_url}/fhir/files"
        output = []
        for rtype in job.types:
            lines = self.resources.get(rtype) or []
            job.files[f"{rtype}.ndjson"] = b"".join(orjson.dumps(r) + b"\n" for r in lines)
            output.append({"type": rtype, "url": f"{base}/{job_id}/{rtype}.ndjson"})
        errors = []
        if self.behaviour.error_file:
            problem = orjson.loads(outcome(500, "Encounter e-missing could not be exported").body)
            job.files["errors.ndjson"] = orjson.dumps(problem) + b"\n"
            errors.append({"type": "OperationOutcome", "url": f"{base}/{job_id}/errors.ndjson"})
        return {
            "transactionTime": "2026-06-30T00:00:00.000Z",
            "request": f"{self.fhir_url}/fhir/$export",
            "requiresAccessToken": self.behaviour.requires_token,
            "output": output,
            "error": errors,
        }

    async def fhir_file(self, request: Request) -> Response:
        job_id, name = request.path_params["job"], request.path_params["name"]
        if self.behaviour.redirect_files:
            self.seen["307 to storage"] += 1
            signed = f"{self.storage_url}/s3/{job_id}/{name}?X-Amz-Signature=emulated"
            return Response(status_code=307, headers={"Location": signed})
        return self._file(job_id, name)

    def _file(self, job_id: str, name: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None or name not in job.files:
            return outcome(404, "file not found")
        return Response(job.files[name], media_type="application/fhir+ndjson")

    async def group(self, request: Request) -> Response:
        if request.path_params["gid"] != self.group_id:
            return outcome(404, "unknown group")
        members = [
            {"entity": {"reference": f"Patient/{p['id']}"}} for p in self.resources["Patient"]
        ]
        body = {"resourceType": "Group", "id": self.group_id, "type": "person", "actual": True}
        return JSONResponse(body | {"member": members}, media_type=FHIR_JSON)

    async def binary(self, request: Request) -> Response:
        found = self.binaries.get(request.path_params["bid"])
        if found is None:
            return outcome(404, "unknown Binary")
        media, data = found
        accept = request.headers.get("Accept", "")
        if media.split(";")[0] not in accept and "*/*" not in accept:
            self.seen["Binary Accept refused"] += 1
            return outcome(406, "Binary is served in its native content type only")
        self.seen["Binary in native form"] += 1
        return Response(data, media_type=media)

    async def search(self, request: Request) -> Response:
        rtype, params = request.path_params["rtype"], request.query_params
        if rtype not in self.resources:
            return outcome(404, f"unknown type {rtype}")
        patient = params.get("_id") if rtype == "Patient" else params.get("patient")
        if self.behaviour.search_needs_patient and not patient:
            self.seen["search without patient refused"] += 1
            return outcome(400, "A patient is required for this search")
        wanted_codes = set(params.get("code", "").split(",")) - {""}
        category = params.get("category")
        if rtype == "Observation" and self.behaviour.observation_needs_filter:
            if not wanted_codes and not category:
                self.seen["Observation without category or code refused"] += 1
                return outcome(400, "category or code is required")
        hits = [r for r in self.resources[rtype] if _matches(r, patient, category, wanted_codes)]
        if wanted_codes:
            self.seen["Observation searched by code"] += 1
        return self.pages.first(rtype, hits, params.get("_count"))

    # Storage host ----------------------------------------------------------------------
    def storage_app(self) -> Starlette:
        routes = [
            Route("/s3/{job}/{name}", self.storage_file),
            Route(PAGES_PATH, self.pages.at_storage),
            Route(self.behaviour.status_path + "/{job}", self.status, methods=["GET", "DELETE"]),
        ]
        return Starlette(
            routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._refuse_token)]
        )

    async def _refuse_token(self, request: Request, call_next: Any) -> Response:
        # Pre-signed storage: a second auth mechanism (a bearer token) is an error.
        if "Authorization" in request.headers:
            self.tokens_at_storage += 1
            return Response("Only one auth mechanism allowed", 400, media_type="text/plain")
        response: Response = await call_next(request)
        return response

    async def storage_file(self, request: Request) -> Response:
        return self._file(request.path_params["job"], request.path_params["name"])


def _matches(
    resource: dict[str, Any], patient: str | None, category: str | None, codes: set[str]
) -> bool:
    if patient is not None:
        if resource["resourceType"] == "Patient":
            if resource.get("id") != patient:
                return False
        elif (resource.get("subject") or {}).get("reference") != f"Patient/{patient}":
            return False
    if category is not None:
        found = {
            c.get("code") for cat in resource.get("category") or [] for c in cat.get("coding") or []
        }
        if category not in found:
            return False
    if codes:
        found = {
            f"{c.get('system')}|{c.get('code')}"
            for c in (resource.get("code") or {}).get("coding") or []
        }
        return bool(found & codes)
    return True


@contextmanager
def run_emulator(
    profile: str,
    data_dir: Path,
    token: TokenEndpoint | None = None,
    paging: Paging | None = None,
    kind: type[Emulator] = Emulator,
) -> Iterator[Emulator]:
    """Start both hosts of ``profile`` on loopback; ``emulator.fhir_url + "/fhir"`` is the base.

    With ``token``, the FHIR host also runs that SMART token endpoint (the static bearer token
    still works unless the endpoint issues its own). ``paging`` replaces the profile's page sizes.
    ``kind`` is the emulator class (`tests.pipelines.fhir.vendor_nights` adds later nights).
    """
    emulator = kind(profile, data_dir, token)
    if paging is not None:
        emulator.pages.paging = paging
    with serve(emulator.fhir_app()) as fhir, serve(emulator.storage_app()) as storage:
        emulator.fhir_url, emulator.storage_url = fhir, storage
        emulator.pages.fhir_url, emulator.pages.storage_url = fhir, storage
        if token is not None:
            token.origin = fhir
        yield emulator
