"""Throughput check for the notes NLP on Synthea DocumentReference notes (not a pytest module).

Usage: uv run python -m tests.screens.notes.bench_notes [NDJSON]
Prints counts and rates only, never note text.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

from screens.notes import extract_mentions
from screens.notes.pipeline import build_nlp
from tests.screens.notes.test_mentions import FOUND

DEFAULT = Path("/work/shared/data/synthea-bulk-10/DocumentReference.000.ndjson")


def load_notes(path: Path) -> list[str]:
    notes = []
    with path.open() as f:
        for line in f:
            for content in json.loads(line).get("content", []):
                data = content.get("attachment", {}).get("data")
                if data:
                    notes.append(base64.b64decode(data).decode("utf-8", "replace"))
    return notes


def main() -> None:
    notes = load_notes(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    build_nlp()
    start = time.perf_counter()
    mentions = sum(len(extract_mentions(n)) for n in notes)
    took = time.perf_counter() - start
    chars = sum(len(n) for n in notes)
    print(
        f"synthea notes={len(notes)} chars={chars} mentions={mentions} seconds={took:.2f} "
        f"notes_per_s={len(notes) / took:.0f}"
    )
    # Worst case: a vascular clinic note where every sentence carries a concept.
    dense = "\n".join(case[1] for case in FOUND)
    start = time.perf_counter()
    rounds = 20
    count = sum(len(extract_mentions(dense)) for _ in range(rounds))
    took = time.perf_counter() - start
    print(
        f"dense note chars={len(dense)} sentences={len(FOUND)} mentions={count // rounds} "
        f"notes_per_s={rounds / took:.1f} sentences_per_s={rounds * len(FOUND) / took:.0f}"
    )


if __name__ == "__main__":
    main()
