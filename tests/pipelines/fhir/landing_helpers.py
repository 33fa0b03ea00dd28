"""Read a landing directory back and compare it with the bundles loaded into the server."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

from pipelines.fhir.pull import DEFAULT_TYPES

Key = tuple[str, str]


def read_landing(out_dir: Path) -> dict[Key, dict[str, Any]]:
    landed: dict[Key, dict[str, Any]] = {}
    for path in sorted(out_dir.glob("*.ndjson")):
        for line in path.read_text().splitlines():
            if line.strip():
                resource = json.loads(line)
                assert resource["resourceType"] == path.name.split(".")[0]
                landed[(resource["resourceType"], resource["id"])] = resource
    return landed


def bundle_resources(
    bundle: dict[str, Any], types: tuple[str, ...] = DEFAULT_TYPES
) -> dict[Key, dict[str, Any]]:
    out = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in types:
            out[(resource["resourceType"], resource["id"])] = resource
    return out


def binaries(bundle: dict[str, Any]) -> dict[str, str]:
    return {
        f"Binary/{e['resource']['id']}": e["resource"]["data"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Binary"
    }


def without_server_fields(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop what the server adds (meta) and what the pull adds (inlined attachment data)."""
    clean = copy.deepcopy(resource)
    clean.pop("meta", None)
    attachments = [c.get("attachment", {}) for c in clean.get("content", [])]
    attachments += clean.get("presentedForm", [])
    for attachment in attachments:
        if attachment.get("url"):
            attachment.pop("data", None)
    return clean


def decoded_attachment_texts(resource: dict[str, Any]) -> list[str]:
    attachments = [c["attachment"] for c in resource.get("content", [])]
    attachments += resource.get("presentedForm", [])
    return [base64.b64decode(a["data"]).decode() for a in attachments]
