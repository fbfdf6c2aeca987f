"""The static files the pages load: our own `frontend/` modules and CSS, and the few files of
the third-party packages `npm ci` installs into `frontend/node_modules`, each under a short
name in `vendor/`.

Nothing else of `node_modules` is reachable (no package sources, no manifests), and the
package files themselves are never served. WhiteNoise serves what this finder lists, with
`DEBUG` on or off; `collectstatic` copies the same files.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.utils import get_files, matches_patterns
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

# Served name -> file under node_modules. A name ending in "/" maps a directory of ES modules
# that import each other by relative paths (only its .js and .css files are served).
VENDOR: dict[str, str] = {
    "vendor/jsoneditor.js": "@json-editor/json-editor/dist/jsoneditor.js",
    "vendor/jsondiffpatch/": "jsondiffpatch/lib/",
}
VENDOR_SUFFIXES = (".js", ".mjs", ".css")

# Our own files are everything in frontend/ except these.
PRIVATE = ["node_modules", "package.json", "package-lock.json", "*.md", ".*"]


def frontend_dir() -> Path:
    """The `frontend/` directory of the repository."""
    return Path(settings.BASE_DIR) / "frontend"


class VendorStorage(FileSystemStorage):
    """`node_modules`, read under the served names of `VENDOR`."""

    def __init__(self, root: Path) -> None:
        super().__init__(location=str(root))
        self.root = root

    def source(self, name: str) -> str | None:
        """The file under node_modules that `name` serves, or None when it serves nothing."""
        name = name.replace("\\", "/")
        if name in VENDOR and not name.endswith("/"):
            return VENDOR[name]
        for served, source in VENDOR.items():
            inside = served.endswith("/") and name.startswith(served) and ".." not in name
            if inside and name.endswith(VENDOR_SUFFIXES):
                return source + name[len(served) :]
        return None

    def path(self, name: str) -> str:
        """The absolute path of a served name (a name serving nothing has none)."""
        source = self.source(name)
        if source is None:
            raise FileNotFoundError(name)
        return str(self.root / source)

    def exists(self, name: str) -> bool:
        """True when `name` is served and installed."""
        try:
            return Path(self.path(name)).is_file()
        except FileNotFoundError:
            return False

    def served(self) -> Iterator[str]:
        """Every served name that is installed."""
        for served, source in VENDOR.items():
            if not served.endswith("/"):
                if (self.root / source).is_file():
                    yield served
                continue
            directory = self.root / source
            if directory.is_dir():
                for file in sorted(directory.rglob("*")):
                    if file.is_file() and file.name.endswith(VENDOR_SUFFIXES):
                        yield served + file.relative_to(directory).as_posix()


class FrontendFinder(BaseFinder):
    """Finds `frontend/` files (less its package files) and the `VENDOR` files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        root = frontend_dir()
        self.own = FileSystemStorage(location=str(root))
        self.vendor = VendorStorage(root / "node_modules")

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """Warn when `npm ci` has not installed the third-party files."""
        missing = [name for name in VENDOR if not self._installed(name)]
        if not missing:
            return []
        return [
            CheckWarning(
                "The pages' third-party JavaScript is not installed "
                f"({', '.join(sorted(missing))} missing).",
                hint="Run `make install` (it runs `npm ci` in frontend/; Node.js 18+ is needed).",
                id="stepback.W010",
            )
        ]

    def _installed(self, name: str) -> bool:
        source = self.vendor.root / VENDOR[name]
        return source.is_dir() if name.endswith("/") else source.is_file()

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        """The absolute path of `path` (a list of it with `find_all`), or nothing."""
        found = self._find(path)
        if find_all:
            return [found] if found else []
        return found or []

    def _find(self, path: str) -> str | None:
        path = path.replace("\\", "/")
        if path.startswith("vendor/"):
            return self.vendor.path(path) if self.vendor.exists(path) else None
        if ".." in path.split("/") or matches_patterns(path, PRIVATE):
            return None
        if any(matches_patterns(part, PRIVATE) for part in path.split("/")[:-1]):
            return None
        return self.own.path(path) if self.own.exists(path) else None

    def list(self, ignore_patterns: list[str] | None) -> Iterator[tuple[str, Any]]:
        """Every servable file with the storage that reads it."""
        for path in get_files(self.own, [*PRIVATE, *(ignore_patterns or [])]):
            if not path.startswith("vendor/"):
                yield path, self.own
        for name in self.vendor.served():
            yield name, self.vendor


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise as Daphne needs it: under ASGI file bodies stream as async iterators (Django
    warns about, and buffers, a sync one there), and a `STATIC_ROOT` not collected yet is no error
    (the finders serve the same files)."""

    def add_files(self, root: str, prefix: str | None = None) -> None:
        """Serve the files under `root`, when it exists."""
        if os.path.isdir(root):
            super().add_files(root, prefix)

    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponse:
        """WhiteNoise's response, its body turned into an async iterator."""
        response: Any = WhiteNoiseMiddleware.serve(static_file, request)
        if isinstance(request, ASGIRequest) and response.streaming and not response.is_async:
            response.streaming_content = _chunks(response.streaming_content)
        return response


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    # Local files read in 4 KiB blocks: cheap enough to read on the event loop.
    for part in parts:
        yield part
