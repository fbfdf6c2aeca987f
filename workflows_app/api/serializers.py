"""What the API accepts: query strings and request bodies (bad values become 400 with field
errors). What it answers is documented in `workflows_app.api.responses`."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.http import QueryDict
from rest_framework import serializers

from workflows_app.models import RUN_STATUSES

RUN_STATUS_VALUES = tuple(value for value, _ in RUN_STATUSES)
MAX_PAGE_SIZE = 200
MAX_EVENTS = 1000
# One status or several joined by commas, nothing else (the schema documents this pattern).
_ONE_STATUS = "|".join(RUN_STATUS_VALUES)
STATUS_PATTERN = rf"^(?:{_ONE_STATUS})(?:,(?:{_ONE_STATUS}))*$"

# The orderings the runs list accepts, each with the tie-breakers that make pages stable.
RUN_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-created_at": ("-created_at", "-run_id"),
    "created_at": ("created_at", "run_id"),
    "status": ("status", "-created_at", "-run_id"),
    "-status": ("-status", "-created_at", "-run_id"),
    "workflow_id": ("workflow_id", "-created_at", "-run_id"),
    "-workflow_id": ("-workflow_id", "-created_at", "-run_id"),
    # A run not finished yet finishes after every finished one: last ascending, first descending.
    "finished_at": ("finished_at", "run_id"),
    "-finished_at": ("-finished_at", "-run_id"),
}


class AnyJSON(serializers.JSONField):
    """Any JSON value (object, array, string, number, boolean or null)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class JSONObject(serializers.DictField):
    """A JSON object with values of any type."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.JSONField())
        super().__init__(**kwargs)


# -- query strings ------------------------------------------------------------------------------


class StatusesField(serializers.CharField):
    """Run statuses joined by commas, exactly (no spaces, no empty parts); blank for all. The
    pattern goes into the schema; the message names what is unknown."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(
            allow_blank=True, trim_whitespace=False, validators=[RegexValidator(STATUS_PATTERN)]
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text: str = super().to_internal_value(data)
        unknown = [part for part in text.split(",") if part not in RUN_STATUS_VALUES]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown status {', '.join(repr(part) for part in unknown)}; use one or several "
                f"of {', '.join(RUN_STATUS_VALUES)}, joined by commas."
            )
        return text


class QuerySerializer(serializers.Serializer[Any]):
    """A query string read as its schema describes it: each parameter at most once, and a
    blank value is a value (refused where its type has no blank, rather than taken as absent,
    which is how DRF reads form input)."""

    # True: a parameter the schema does not name is refused (400) rather than ignored.
    strict_names = False

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict) and self.strict_names:
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown parameter."] for name in unknown}
                )
        if isinstance(data, QueryDict):
            repeated = [name for name in self.fields if len(data.getlist(name)) > 1]
            if repeated:
                raise serializers.ValidationError(
                    {name: ["Give this parameter once."] for name in repeated}
                )
            data = {name: data[name] for name in data}
        return super().to_internal_value(data)


class PageQuery(QuerySerializer):
    """`page` (from 1) and `page_size` (1 to 200)."""

    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=50
    )


class RunListQuery(PageQuery):
    """The filters, search and ordering of the runs list."""

    workflow = serializers.CharField(
        required=False, allow_blank=True, help_text="Exact workflow id."
    )
    status = StatusesField(
        required=False,
        help_text=f"One status or several separated by commas: {', '.join(RUN_STATUS_VALUES)}.",
    )
    resource_id = serializers.CharField(required=False, allow_blank=True)
    parent_run_id = serializers.CharField(
        required=False, allow_blank=True, help_text="Forks of this run."
    )
    created_after = serializers.DateTimeField(
        required=False, help_text="ISO 8601; runs created at or after this moment."
    )
    created_before = serializers.DateTimeField(
        required=False, help_text="ISO 8601; runs created at or before this moment."
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Run id prefix."
    )
    ordering = serializers.ChoiceField(
        choices=list(RUN_ORDERINGS), required=False, default="-created_at"
    )

    def validate_status(self, value: str) -> list[str]:
        return value.split(",") if value else []  # blank: not filtered, like every blank filter


class InboxQuery(PageQuery):
    """The inbox filter."""

    workflow = serializers.CharField(
        required=False, allow_blank=True, help_text="Exact workflow id."
    )


class EventsQuery(QuerySerializer):
    """Events after a seq, oldest first, optionally only of some types or of one step."""

    strict_names = True

    after_seq = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_EVENTS, default=MAX_EVENTS
    )
    type = serializers.RegexField(
        r"^[a-z_]+\.[a-z_]+(,[a-z_]+\.[a-z_]+)*$",
        required=False,
        max_length=500,
        help_text="Only events of this type (`step.failed`), or of these (comma-separated).",
    )
    step = serializers.CharField(
        required=False,
        min_length=1,
        max_length=500,
        help_text="Only events of this step (dotted path, `outer.inner`; a foreach item "
        "`step[1]`).",
    )


MAX_STEPS_PAGE = 1000


class RunDetailQuery(QuerySerializer):
    """Which of a run's steps its detail lists, and whether it holds the graph. Without
    `steps_limit` every step is listed (a run of 10,000 steps: a big answer)."""

    steps_offset = serializers.IntegerField(
        required=False, min_value=0, default=0, help_text="Steps to skip, in recorded order."
    )
    steps_limit = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_STEPS_PAGE,
        help_text="At most this many steps (absent: every step).",
    )
    graph = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false: `graph` is left empty ({}); `graph_key` names it, to keep a copy.",
    )


class CompareQuery(QuerySerializer):
    """The two runs to compare."""

    a = serializers.CharField(min_length=1, max_length=64, help_text="Run id of the left side.")
    b = serializers.CharField(min_length=1, max_length=64, help_text="Run id of the right side.")


class ImportQuery(QuerySerializer):
    """How to import a bundle."""

    new_id = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Store the run under a fresh id (else an existing run id is refused, 409).",
    )


# -- request bodies -----------------------------------------------------------------------------


def breakpoints_field() -> serializers.ListField:
    """Optional step ids or paths (dotted or slash) the run pauses before."""
    # Not trimmed: " " is a name like any other (no step has it, which the engine says by
    # name), not a blank the schema's minLength would have let through.
    return serializers.ListField(
        child=serializers.CharField(min_length=1, trim_whitespace=False),
        required=False,
        allow_null=True,
        default=None,
        help_text="Step ids or paths (dotted or slash) the run pauses before; each must name "
        "a step of the workflow.",
    )


def per_step_field(help_text: str = "Pause after every step (step-through).") -> Any:
    """The per-step switch."""
    return serializers.BooleanField(required=False, default=False, help_text=help_text)


class StartRunRequest(serializers.Serializer[Any]):
    """Start a run of a registered workflow."""

    workflow_id = serializers.CharField(min_length=1)
    input = AnyJSON(
        help_text="The workflow input, validated against its input schema (absent: null)."
    )
    initial_state = JSONObject(required=False, allow_null=True)
    context = JSONObject(required=False, allow_null=True, help_text="Runtime context.")
    resource_id = serializers.CharField(
        required=False, allow_null=True, min_length=1, max_length=200
    )
    breakpoints = breakpoints_field()
    per_step = per_step_field()


class ResumeRequest(serializers.Serializer[Any]):
    """Resume a suspended (or paused) run."""

    data = AnyJSON(help_text="Resume data, validated against the step's resume schema.")
    step = serializers.CharField(
        required=False,
        allow_null=True,
        min_length=1,
        help_text="Dotted path of the suspended step.",
    )
    label = serializers.CharField(
        required=False, allow_null=True, min_length=1, help_text="A resume label."
    )
    for_each_index = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    breakpoints = breakpoints_field()
    per_step = per_step_field("Continue a paused run by one step only.")


class RestartRequest(serializers.Serializer[Any]):
    """Restart an interrupted run (every field optional)."""

    breakpoints = breakpoints_field()
    per_step = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Absent: as the run had it."
    )


class ContinueRequest(serializers.Serializer[Any]):
    """Continue a paused run."""

    mode = serializers.ChoiceField(
        choices=["continue", "next"],
        required=False,
        default="continue",
        help_text="`next`: run one step and pause again; `continue`: run to the next "
        "breakpoint or the end.",
    )
    breakpoints = breakpoints_field()


class RerunRequest(serializers.Serializer[Any]):
    """Start a new run of the same workflow with the same input."""

    breakpoints = breakpoints_field()
    per_step = per_step_field()


class InboxResumeRequest(serializers.Serializer[Any]):
    """Answer a human task."""

    data = AnyJSON(help_text="Resume data, validated against the task's resume schema.")


class TimeTravelRequest(serializers.Serializer[Any]):
    """Re-execute a run from one of its steps, as a new linked run."""

    step = serializers.CharField(
        min_length=1, help_text="Dotted path of the step to re-execute from."
    )
    input = AnyJSON(help_text="A new input for that step (absent or null: the recorded one).")
    outputs = JSONObject(
        required=False,
        allow_null=True,
        help_text="Edited recorded outputs of earlier steps: {dotted path: output}.",
    )
    reuse = serializers.ListField(
        child=serializers.CharField(min_length=1),
        required=False,
        default=list,
        help_text="Dotted paths of downstream steps whose recorded output is reused.",
    )
    breakpoints = breakpoints_field()
    per_step = per_step_field()
