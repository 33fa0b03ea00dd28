"""Dependency audit for CI: pip-audit over the locked requirements (uv export).

Fails (exit 1) on a known vulnerability that has a fixed version. Vulnerabilities without a
fix are listed but do not fail the build (nothing to upgrade to). Packages the advisory
service cannot resolve are counted; when none at all could be audited (no route to the
advisory database) the audit says so loudly, and fails only with VASCREEN_AUDIT_STRICT=1.

    uv run python .ci/dependency_audit.py
"""

# ruff: noqa: T201, S603, S607 - a CI script: prints its report, runs uv and pip-audit from PATH
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile


def main() -> int:
    requirements = subprocess.run(
        ["uv", "export", "--frozen", "--no-hashes", "--all-groups", "--no-emit-project"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as req:
        req.write(requirements)
        req.flush()
        audit = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-r",
                req.name,
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        # The tool itself failed (most often: no route to the advisory service). That is not a
        # finding about our dependencies, so it fails the build only in strict mode.
        print(
            f"dependency audit: WARNING pip-audit could not run ({audit.returncode}): "
            f"{audit.stderr.strip().splitlines()[-1:]}",
            file=sys.stderr,
        )
        return 1 if os.environ.get("VASCREEN_AUDIT_STRICT") == "1" else 0
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if "skip_reason" in d]
    fixable, unfixed = [], []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln["fix_versions"]) or "none"
            line = f"{dep['name']} {dep['version']}: {vuln['id']} (fix: {fixes})"
            (fixable if vuln["fix_versions"] else unfixed).append(line)
    audited = len(deps) - len(skipped)
    print(
        f"dependency audit: {audited} of {len(deps)} locked packages audited, "
        f"{len(fixable)} fixable and {len(unfixed)} unfixed known vulnerabilities"
    )
    for line in fixable + unfixed:
        print(f"  {line}")
    if audited == 0 and deps:
        print(
            "dependency audit: WARNING no package could be audited (advisory service "
            "unreachable or it does not know these versions)",
            file=sys.stderr,
        )
        if os.environ.get("VASCREEN_AUDIT_STRICT") == "1":
            return 1
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main())
