"""Helpers of the API tests: rows made directly (for read endpoints), row counts, JSON calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from workflows_app.models import Event, HumanTask, Run, Snapshot, StepRecord

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def make_run(run_id: str, workflow_id: str = "greet", minute: int = 0, **fields: Any) -> Run:
    """A run row as the storage would leave it, created `minute` minutes after EPOCH."""
    created = EPOCH + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "status": "success",
        "engine": "default",
        "created_at": created,
        "updated_at": created,
        "started_at": created,
        "finished_at": created + timedelta(seconds=2),
    }
    values.update(fields)
    return Run.objects.create(run_id=run_id, workflow_id=workflow_id, **values)


def make_events(run: Run, count: int) -> None:
    """`count` events numbered 1..count."""
    Event.objects.bulk_create(
        Event(run=run, seq=seq, type="step.succeeded", path="hello", ts=1.0 + seq, payload={})
        for seq in range(1, count + 1)
    )
    Run.objects.filter(pk=run.pk).update(seq=count)


def make_task(run: Run, path: str = "ask", **fields: Any) -> HumanTask:
    """An open human task of `run`."""
    values: dict[str, Any] = {"created_at": run.created_at, "suspend_payload": {"q": "ok?"}}
    values.update(fields)
    return HumanTask.objects.create(run=run, path=path, **values)


def row_counts() -> dict[str, int]:
    """How many rows each Stepback table holds (a refused call must not change them)."""
    return {
        model.__name__: model.objects.count()
        for model in (Run, Event, Snapshot, StepRecord, HumanTask)
    }


def run_states() -> list[tuple[str, str, int]]:
    """Each run's id, status and seq (a refused call must not change them either)."""
    return list(Run.objects.order_by("run_id").values_list("run_id", "status", "seq"))


def recorded() -> dict[str, Any]:
    """Every row count and each run's status and seq: what a refused call must leave alone."""
    return {**row_counts(), "runs": run_states()}


def post_json(client: Client, url: str, body: Any = None) -> Any:
    """POST `body` as JSON."""
    return client.post(url, json.dumps(body if body is not None else {}), "application/json")


def documented_fields(component: str) -> set[str]:
    """The properties the OpenAPI schema documents for a component (a response serializer)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return set(schema["components"]["schemas"][component]["properties"])


def exported(api: Any, run_id: str) -> Any:
    """The run's bundle as `GET /api/runs/<id>/export/` streams it, parsed."""
    return json.loads(exported_bytes(api, run_id))


def exported_bytes(api: Any, run_id: str) -> bytes:
    """The bytes `GET /api/runs/<id>/export/` streams."""
    response = api.get(f"/api/runs/{run_id}/export/")
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)
