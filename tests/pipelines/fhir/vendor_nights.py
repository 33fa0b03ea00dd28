"""Later nights on the vendor emulator: the server's data changes between two pulls.

`LaterNights` is the emulator (`tests.pipelines.fhir.vendor_emulator`) plus what a second night
needs: the data it serves can be replaced (`reload`), a Binary can start answering 403, resources
deleted since the first night are listed in a ``_since`` export's manifest (``deleted``) where the
profile does so (the Bulk Data IG's allowance; Epic, Oracle Health and athenahealth document no
deletion list), and a day can pass (Epic runs one export per group a day).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.pipelines.fhir.vendor_emulator import Emulator, outcome
from tests.pipelines.fhir.vendor_token import TokenEndpoint

LISTS_DELETIONS = frozenset({"bulk-ig"})


class LaterNights(Emulator):
    def __init__(self, profile: str, data_dir: Path, token: TokenEndpoint | None = None) -> None:
        super().__init__(profile, data_dir, token)
        self.refused_binaries: set[str] = set()
        self.deletions: list[tuple[str, str]] = []
        self.since_by_job: dict[str, str | None] = {}

    def reload(self, data_dir: Path, *, binary_notes: frozenset[str] | None = None) -> None:
        """Serve `data_dir` from now on; `binary_notes` are url-only on every profile."""
        if binary_notes is not None:
            self.binary_note_ids = binary_notes
        self.resources = {}
        for path in sorted(data_dir.glob("*.ndjson")):
            items = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
            self.resources[path.name.split(".")[0]] = [self._served(r) for r in items]

    def next_day(self) -> None:
        """A day later: a once-a-day export (Epic) may run again."""
        self.exports_started = 0

    async def kick_off(self, request: Request) -> Response:
        before = set(self.jobs)
        response = await super().kick_off(request)
        for job_id in set(self.jobs) - before:
            self.since_by_job[job_id] = request.query_params.get("_since")
        return response

    async def binary(self, request: Request) -> Response:
        if request.path_params["bid"] in self.refused_binaries:
            self.seen["Binary 403"] += 1
            return outcome(403, "Access to this document is restricted")
        return await super().binary(request)

    def _manifest(self, job_id: str, job: Any) -> dict[str, Any]:
        manifest = super()._manifest(job_id, job)
        if self.profile not in LISTS_DELETIONS or not self.since_by_job.get(job_id):
            return manifest
        entries = [
            {"request": {"method": "DELETE", "url": f"{rtype}/{rid}"}}
            for rtype, rid in self.deletions
            if rtype in job.types
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        job.files["deleted.ndjson"] = orjson.dumps(bundle) + b"\n"
        # Beside the output files (the first one's folder), on whichever host serves them.
        folder = manifest["output"][0]["url"].rsplit("/", 1)[0]
        self.seen["deletions listed"] += len(entries)
        return manifest | {"deleted": [{"type": "Bundle", "url": f"{folder}/deleted.ndjson"}]}
