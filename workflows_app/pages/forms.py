"""What the pages' plain HTML forms send (the fallback when JavaScript does not run): a JSON
value typed into a textarea, refused in the API's error shape when it is not JSON."""

from __future__ import annotations

import json
from typing import Any

from engines import ValidationError
from workflows_app.api.errors import field_errors


class NotJSON(ValueError):
    """The text of a form field is not JSON."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} is not JSON: {problem}")
        self.errors = {name: [f"Not valid JSON: {problem}"]}


def json_field(text: str, name: str) -> Any:
    """The JSON value in `text` (blank means null); `NotJSON` otherwise."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise NotJSON(name, str(exc)) from None


def refusal(exc: ValidationError | NotJSON) -> dict[str, Any]:
    """A refused form as the template shows it: a sentence and messages by field path."""
    if isinstance(exc, NotJSON):
        return {"detail": str(exc), "errors": exc.errors}
    return {"detail": exc.summary, "errors": field_errors(exc.errors)}
