"""A data pipeline: fetch records, process each (two at a time, with retries), aggregate.

Failures are deterministic so every run of the demo tells the same story: a record listed in
`flaky_ids` fails its first attempt and succeeds on the retry; a record listed in `broken_ids`
arrives without a value and fails every attempt (time-travel from `process_record` with the
record fixed to repair the run).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from engines import StepContext, Workflow, step


class PipelineInput(BaseModel):
    """Which records to fetch, and which of them misbehave."""

    source: str = Field("demo-sensor", min_length=1, description="Where the records come from")
    count: int = Field(6, ge=1, le=100, description="How many records to fetch")
    flaky_ids: list[int] = Field(
        default_factory=lambda: [3], description="Records whose first attempt fails"
    )
    broken_ids: list[int] = Field(
        default_factory=list, description="Records fetched without a value (they fail)"
    )


class Record(BaseModel):
    """One fetched record."""

    id: int
    source: str
    value: float | None


class Processed(BaseModel):
    """One processed record."""

    id: int
    value: float
    score: float
    attempts: int


class PipelineState(BaseModel):
    """Running totals kept in the run's state."""

    processed: int = 0
    total: float = 0.0


class Summary(BaseModel):
    """The pipeline's result."""

    count: int
    total: float
    mean: float
    best_id: int | None
    retried_ids: list[int]


class UpstreamHiccup(ConnectionError):
    """A transient failure of the (pretend) upstream service; worth a retry."""


class MalformedRecord(ValueError):
    """A record that cannot be processed as it is."""

    def __init__(self, record_id: int) -> None:
        super().__init__(f"record {record_id} has no value")
        self.record_id = record_id


@step(input_schema=PipelineInput, output_schema=list[Record])
async def fetch_records(ctx: StepContext) -> list[Record]:
    """Read the records from the source (generated: value = id x 1.5)."""
    request: PipelineInput = ctx.input_data
    broken = set(request.broken_ids)
    return [
        Record(id=i, source=request.source, value=None if i in broken else i * 1.5)
        for i in range(1, request.count + 1)
    ]


@step(input_schema=Record, output_schema=Processed, retries=2)
async def process_record(ctx: StepContext) -> Processed:
    """Score one record; a flaky record fails its first attempt, a broken one always fails."""
    record: Record = ctx.input_data
    flaky = set(ctx.get_init_data().get("flaky_ids") or [])
    if record.id in flaky and ctx.retry_count == 0:
        raise UpstreamHiccup(f"upstream timed out on record {record.id} (attempt 1)")
    if record.value is None:
        raise MalformedRecord(record.id)
    return Processed(
        id=record.id,
        value=record.value,
        score=round(record.value * 2 + 1, 3),
        attempts=ctx.retry_count + 1,
    )


@step(input_schema=list[Processed], output_schema=Summary, state_schema=PipelineState)
async def aggregate(ctx: StepContext) -> Summary:
    """Sum the processed records; the totals also go to the run's state."""
    items: list[Processed] = ctx.input_data
    total = round(sum(p.value for p in items), 3)
    ctx.set_state({"processed": len(items), "total": total})
    best = max(items, key=lambda p: p.score, default=None)
    return Summary(
        count=len(items),
        total=total,
        mean=round(total / len(items), 3) if items else 0.0,
        best_id=best.id if best else None,
        retried_ids=[p.id for p in items if p.attempts > 1],
    )


data_pipeline = (
    Workflow(
        "data-pipeline",
        input_schema=PipelineInput,
        output_schema=Summary,
        state_schema=PipelineState,
        description=(
            "Fetches records, processes each one (two at a time, up to three attempts each: "
            "flaky records succeed on their retry, broken ones fail) and aggregates the results."
        ),
    )
    .then(fetch_records)
    .foreach(process_record, concurrency=2)
    .then(aggregate)
    .commit()
)
