"""How much of the conformance catalog the conformance suite covers.

Usage: `python tests/catalog_coverage.py` from the repository root. The catalog is read from the
`CATALOG` environment variable, or else from `../shared/spec/conformance-catalog.md` next to the
repository. A row counts as covered when a test in `tests/conformance/*.py` carries its id: in the
function name (`test_sr17_...`) or at the start of its docstring (`SR17: ...`).
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = REPO_ROOT / "tests" / "conformance"
DEFAULT_CATALOG = REPO_ROOT.parent / "shared" / "spec" / "conformance-catalog.md"

# Domains the spec declares not applicable (spec/README.md, deliberate difference 9).
NOT_APPLICABLE_DOMAINS = ("agentStep", "agent-step", "tracing")
# Row ranges the spec declares optional (template mapping, newer than the 175-test era).
NOT_APPLICABLE_RANGES = ("V13–V30",)

_ID = r"[A-Z]+[0-9]+"
_ROW_FIRST_CELL = re.compile(rf"^\|\s*({_ID})(?:\s*[–-]\s*({_ID}))?")
_ID_PARTS = re.compile(r"^([A-Z]+)([0-9]+)$")
_NAME_TOKEN = re.compile(r"^[a-z]+[0-9]+$")
_DOC_ID = re.compile(rf"\b{_ID}\b")


@dataclass
class Coverage:
    """The result of comparing the catalog with the tests."""

    catalog_ids: list[str]
    not_applicable: set[str]
    covered_by: dict[str, list[str]] = field(default_factory=dict)

    @property
    def applicable(self) -> list[str]:
        return [i for i in self.catalog_ids if i not in self.not_applicable]

    @property
    def covered(self) -> list[str]:
        return [i for i in self.applicable if self.covered_by.get(i)]

    @property
    def missing(self) -> list[str]:
        return [i for i in self.applicable if not self.covered_by.get(i)]

    @property
    def percent(self) -> float:
        applicable = self.applicable
        if not applicable:
            return 100.0
        return 100.0 * len(self.covered) / len(applicable)


def catalog_path() -> Path:
    """Where the catalog is: `$CATALOG`, else the shared spec next to the repository."""
    configured = os.environ.get("CATALOG")
    return Path(configured) if configured else DEFAULT_CATALOG


def expand_range(first: str, last: str) -> list[str]:
    """`V13`, `V30` -> V13, V14, ..., V30 (same prefix; otherwise just the two ids)."""
    a, b = _ID_PARTS.match(first), _ID_PARTS.match(last)
    if a is None or b is None or a.group(1) != b.group(1):
        return [first, last]
    prefix, start, end = a.group(1), int(a.group(2)), int(b.group(2))
    return [f"{prefix}{n}" for n in range(start, end + 1)]


def parse_catalog(text: str) -> tuple[list[str], set[str]]:
    """Row ids in catalog order, and the ids that are not applicable.

    A row id is the first cell of a table row when it looks like `B1`, `SR17` or `ST4 (newer)`;
    a range cell such as `V13-V30` (en dash in the catalog) expands to every id in between.
    """
    ids: list[str] = []
    not_applicable: set[str] = set()
    domain_excluded = False
    for line in text.splitlines():
        if line.startswith("#"):
            domain_excluded = any(d in line for d in NOT_APPLICABLE_DOMAINS)
            continue
        match = _ROW_FIRST_CELL.match(line)
        if match is None:
            continue
        first, last = match.group(1), match.group(2)
        row_ids = expand_range(first, last) if last else [first]
        cell = line.split("|")[1].strip()
        excluded = domain_excluded or any(cell.startswith(r) for r in NOT_APPLICABLE_RANGES)
        for row_id in row_ids:
            if row_id not in ids:
                ids.append(row_id)
            if excluded:
                not_applicable.add(row_id)
    return ids, not_applicable


def ids_in_test(name: str, docstring: str | None, known: set[str]) -> set[str]:
    """Catalog ids a test names: leading id tokens of its name, ids before the docstring's ':'."""
    found: set[str] = set()
    for token in name.removeprefix("test_").split("_"):
        if not _NAME_TOKEN.match(token) or token.upper() not in known:
            break
        found.add(token.upper())
    if docstring:
        label = docstring.strip().split(":", 1)[0] if ":" in docstring else docstring.split()[0]
        found.update(i for i in _DOC_ID.findall(label) if i in known)
    return found


def scan_tests(directory: Path, known: set[str]) -> dict[str, list[str]]:
    """Map each catalog id to the tests (`file::name`) that carry it."""
    covered: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if not node.name.startswith("test_"):
                continue
            for row_id in ids_in_test(node.name, ast.get_docstring(node), known):
                covered.setdefault(row_id, []).append(f"{path.name}::{node.name}")
    return covered


def compute_coverage(catalog: Path | None = None, tests_dir: Path | None = None) -> Coverage:
    """Compare the catalog with the conformance tests."""
    text = (catalog or catalog_path()).read_text(encoding="utf-8")
    ids, not_applicable = parse_catalog(text)
    covered_by = scan_tests(tests_dir or CONFORMANCE_DIR, set(ids))
    return Coverage(catalog_ids=ids, not_applicable=not_applicable, covered_by=covered_by)


def report(coverage: Coverage) -> str:
    lines = [
        f"rows in catalog:  {len(coverage.catalog_ids)}",
        f"not applicable:   {len(coverage.not_applicable)}",
        f"applicable rows:  {len(coverage.applicable)}",
        f"covered:          {len(coverage.covered)}",
        f"missing:          {len(coverage.missing)}"
        + (f" ({', '.join(coverage.missing)})" if coverage.missing else ""),
        f"coverage:         {coverage.percent:.1f}%",
    ]
    return "\n".join(lines)


def main() -> int:
    path = catalog_path()
    if not path.exists():
        print(f"catalog not found: {path} (set CATALOG to its path)")
        return 0
    print(f"catalog: {path}")
    print(report(compute_coverage(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
