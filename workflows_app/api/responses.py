"""What the API answers, as serializers for the OpenAPI schema.

The views build their JSON directly (`workflows_app.api.payloads`, `workflows_app.services`)
rather than running it through these, since a runs page of 200 rows should not pay for
field-by-field conversion; `tests/app/test_schema.py` checks each payload has exactly the
documented fields.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workflows_app.api.serializers import RUN_STATUS_VALUES, AnyJSON, JSONObject


class StoredErrorSerializer(serializers.Serializer[Any]):
    """An error as stored: class name, module, message, attributes and cause chain."""

    type = serializers.CharField()
    module = serializers.CharField()
    message = serializers.CharField()
    args = serializers.ListField(child=serializers.JSONField(), required=False)
    attributes = JSONObject(required=False)
    cause = AnyJSON(help_text="The error this one was raised from (same shape), if any.")


class ErrorResponse(serializers.Serializer[Any]):
    """Every error body: a sentence, a code, and field errors for bad input."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages by dotted field path ('non_field_errors' for the whole value).",
    )
    error_list = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text="The engine's raw list of {path, message}.",
    )


class RunSummarySerializer(serializers.Serializer[Any]):
    """One row of the runs list (also the live `runs` feed payload)."""

    run_id = serializers.CharField()
    workflow_id = serializers.CharField()
    status = serializers.CharField(help_text=", ".join(RUN_STATUS_VALUES))
    engine = serializers.CharField()
    resource_id = serializers.CharField(allow_null=True)
    parent_run_id = serializers.CharField(allow_null=True)
    fork_step = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField()
    step_counts = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration = serializers.FloatField(allow_null=True, help_text="Seconds.")


class RunPageSerializer(serializers.Serializer[Any]):
    """One page of runs."""

    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = RunSummarySerializer(many=True)


class StepAttemptSerializer(serializers.Serializer[Any]):
    """One attempt of a step, as recorded."""

    attempt = serializers.IntegerField()
    status = serializers.CharField()
    payload = AnyJSON(help_text="The step's input.")
    output = AnyJSON()
    error = StoredErrorSerializer(allow_null=True)
    error_type = serializers.CharField()
    traceback = serializers.CharField(allow_null=True)
    started_at = serializers.FloatField(allow_null=True, help_text="Seconds since the epoch.")
    ended_at = serializers.FloatField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    extra = JSONObject(help_text="Suspend/resume payloads, labels, loop and foreach detail.")
    seq = serializers.IntegerField()


class StepSerializer(StepAttemptSerializer):
    """A step of a run: its latest attempt, and every attempt."""

    key = serializers.CharField(help_text="Dotted path.")
    path = serializers.ListField(child=serializers.CharField())
    attempts = StepAttemptSerializer(many=True)


class HumanTaskSerializer(serializers.Serializer[Any]):
    """A suspended step awaiting a person, with its audit trail once answered."""

    id = serializers.IntegerField()
    run_id = serializers.CharField()
    key = serializers.CharField(help_text="Dotted path.")
    path = serializers.ListField(child=serializers.CharField())
    label = serializers.CharField(allow_null=True)
    for_each_index = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(help_text="open, resumed or canceled")
    suspend_payload = AnyJSON(help_text="What the step asked.")
    resume_schema = AnyJSON(help_text="JSON Schema of the answer.")
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    resumed_by = serializers.CharField(allow_null=True, help_text="Username.")
    resume_data = AnyJSON()


class InboxItemSerializer(HumanTaskSerializer):
    """A human task with the run it belongs to."""

    run = RunSummarySerializer()


class InboxPageSerializer(serializers.Serializer[Any]):
    """One page of the inbox."""

    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = InboxItemSerializer(many=True)


class RunLinksSerializer(serializers.Serializer[Any]):
    """A run's parent and direct forks."""

    parent = RunSummarySerializer(allow_null=True)
    forks = RunSummarySerializer(many=True)


class RunActionSerializer(serializers.Serializer[Any]):
    """Who did what to a run, and when."""

    action = serializers.CharField(
        help_text="start, resume, cancel, restart, time_travel (on the fork) or import"
    )
    user = serializers.CharField(allow_null=True, help_text="Username; null when nobody signed in.")
    at = serializers.DateTimeField()
    detail = JSONObject(help_text="What it acted on: `step`, `label`, `source_run_id`, ...")


class RunDetailSerializer(RunSummarySerializer):
    """Everything about one run."""

    definition_hash = serializers.CharField()
    input = AnyJSON()
    result = AnyJSON()
    error = StoredErrorSerializer(allow_null=True)
    traceback = serializers.CharField(allow_null=True)
    state = JSONObject()
    context = JSONObject()
    suspended = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    resume_labels = JSONObject()
    paused_at = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Paths of the steps a paused run stopped before (a foreach item's steps "
        "under `step[index]`).",
    )
    breakpoints = serializers.ListField(
        child=serializers.CharField(), help_text="Step ids or paths the run pauses before."
    )
    per_step = serializers.BooleanField(help_text="True while the run goes one step at a time.")
    graph = JSONObject()
    graph_key = serializers.CharField(
        allow_null=True, help_text="The stored graph's key: equal keys, equal graphs."
    )
    steps = StepSerializer(many=True)
    steps_total = serializers.IntegerField(help_text="Steps the run has (the pages' total).")
    steps_offset = serializers.IntegerField(help_text="Steps skipped before `steps`.")
    human_tasks = HumanTaskSerializer(many=True)
    lineage = RunLinksSerializer()
    started_by = serializers.CharField(
        allow_null=True, help_text="Who started, time-travelled or imported the run."
    )
    actions = RunActionSerializer(many=True, help_text="Every operate call, oldest first.")


class EventSerializer(serializers.Serializer[Any]):
    """One event of a run's log (the engine's JSON form)."""

    type = serializers.CharField()
    run_id = serializers.CharField()
    seq = serializers.IntegerField()
    ts = serializers.FloatField()
    path = serializers.ListField(child=serializers.CharField())
    payload = AnyJSON()


class EventPageSerializer(serializers.Serializer[Any]):
    """Events after a seq; ask again from `last_seq` while `has_more`."""

    run_id = serializers.CharField()
    after_seq = serializers.IntegerField()
    last_seq = serializers.IntegerField(
        help_text="seq of the last event returned; with none, after_seq or, past the end, "
        "the run's last seq: ask again from here"
    )
    run_seq = serializers.IntegerField(help_text="seq of the run's last stored event")
    has_more = serializers.BooleanField()
    events = EventSerializer(many=True)


class SnapshotRefSerializer(serializers.Serializer[Any]):
    """One stored snapshot: its seq, and whether it holds every step (full) or a delta."""

    seq = serializers.IntegerField()
    full = serializers.BooleanField()


class SnapshotListSerializer(serializers.Serializer[Any]):
    """The moments of a run that can be loaded."""

    run_id = serializers.CharField()
    seq = serializers.IntegerField()
    snapshots = SnapshotRefSerializer(many=True)


class RunSnapshotSerializer(serializers.Serializer[Any]):
    """The run as of one seq: the engine's versioned snapshot."""

    version = serializers.IntegerField()
    run_id = serializers.CharField()
    workflow_id = serializers.CharField()
    status = serializers.CharField()
    input = AnyJSON()
    initial_state = JSONObject()
    state = JSONObject()
    context = JSONObject()
    steps = serializers.DictField(child=JSONObject(), help_text="Step records by dotted path.")
    result = AnyJSON()
    error = StoredErrorSerializer(allow_null=True)
    traceback = serializers.CharField(allow_null=True)
    suspended = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    resume_labels = JSONObject()
    graph = JSONObject()
    definition_hash = serializers.CharField()
    resource_id = serializers.CharField(allow_null=True)
    parent_run_id = serializers.CharField(allow_null=True)
    fork_step = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField()
    created_at = serializers.FloatField()
    updated_at = serializers.FloatField()
    started_at = serializers.FloatField(allow_null=True)
    finished_at = serializers.FloatField(allow_null=True)
    breakpoints = serializers.ListField(child=serializers.CharField())
    per_step = serializers.BooleanField()
    paused_at = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))


class LineageSerializer(serializers.Serializer[Any]):
    """The lineage tree a run belongs to, flat: build the tree from each `parent_run_id`."""

    run_id = serializers.CharField()
    root_run_id = serializers.CharField()
    ancestors = serializers.ListField(
        child=serializers.CharField(), help_text="Run ids from the root down to the parent."
    )
    runs = RunSummarySerializer(many=True, help_text="The root and every descendant.")
    truncated = serializers.BooleanField(help_text="True when the tree was cut at its limit.")


class RunCountsSerializer(serializers.Serializer[Any]):
    """How many runs a workflow has, in total and by status."""

    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class WorkflowSerializer(serializers.Serializer[Any]):
    """A registered workflow."""

    id = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    definition_hash = serializers.CharField()
    input_schema = AnyJSON(help_text="JSON Schema (null: any JSON value).")
    output_schema = AnyJSON()
    state_schema = AnyJSON()
    step_count = serializers.IntegerField(help_text="Top-level steps.")
    run_counts = RunCountsSerializer()


class StepSourceSerializer(serializers.Serializer[Any]):
    """Where a step's function is written, and its code."""

    file = serializers.CharField(help_text="Relative to the project (or its import root).")
    line = serializers.IntegerField(help_text="First line of the function, from 1.")
    code = serializers.CharField()


class WorkflowDetailSerializer(WorkflowSerializer):
    """A registered workflow with its graph and latest runs."""

    graph = JSONObject(help_text="Entries, nodes, edges and every step's JSON Schemas.")
    sources = serializers.DictField(
        child=StepSourceSerializer(),
        help_text="Each step's source by dotted path (empty with STEPBACK_SHOW_SOURCE off; "
        "a step whose source cannot be read has none).",
    )
    recent_runs = RunSummarySerializer(many=True)


class JSONDiffSerializer(serializers.Serializer[Any]):
    """One leaf that differs between two JSON values."""

    path = serializers.CharField(help_text="Dotted path inside the value ('' for the whole).")
    a = AnyJSON()
    b = AnyJSON()
    kind = serializers.CharField(help_text="added, removed or changed")


class ComparedStepSideSerializer(serializers.Serializer[Any]):
    """What one run recorded for a compared step."""

    status = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    started_at = serializers.FloatField(allow_null=True)
    ended_at = serializers.FloatField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    input = AnyJSON()
    output = AnyJSON()
    error = serializers.CharField(allow_null=True, help_text="The error's message.")
    error_type = serializers.CharField(allow_null=True)


class StepComparisonSerializer(serializers.Serializer[Any]):
    """One step path in two runs (a side is null when that run did not record the step)."""

    path = serializers.ListField(child=serializers.CharField())
    key = serializers.CharField(help_text="Dotted path.")
    a = ComparedStepSideSerializer(allow_null=True)
    b = ComparedStepSideSerializer(allow_null=True)
    status_changed = serializers.BooleanField()
    input_diff = JSONDiffSerializer(many=True)
    output_diff = JSONDiffSerializer(many=True)
    state_diff = JSONDiffSerializer(many=True)
    differs = serializers.BooleanField(help_text="Status, input or output differ.")


class ComparisonSerializer(serializers.Serializer[Any]):
    """Two runs step by step, with the first step where they differ."""

    a = RunSummarySerializer()
    b = RunSummarySerializer()
    steps = StepComparisonSerializer(many=True)
    first_divergence = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="Path of the first difference."
    )
    status_changed = serializers.BooleanField()
    input_diff = JSONDiffSerializer(many=True)
    result_diff = JSONDiffSerializer(many=True)
    state_diff = JSONDiffSerializer(many=True)


class PlannedStepSerializer(serializers.Serializer[Any]):
    """What a time travel would do with one step."""

    path = serializers.ListField(child=serializers.CharField())
    key = serializers.CharField(help_text="Dotted path.")
    action = serializers.CharField(help_text="reused, re-executed or skipped")
    recorded_status = serializers.CharField(allow_null=True)
    editable = serializers.BooleanField(help_text="Its recorded output may be edited.")
    reusable = serializers.BooleanField(help_text="Its recorded output may be reused.")


class FieldProblemSerializer(serializers.Serializer[Any]):
    """One problem with one field of a request."""

    path = serializers.CharField()
    message = serializers.CharField()


class TimeTravelPlanSerializer(serializers.Serializer[Any]):
    """The plan of a time travel, computed without writing anything. Problems with the edits
    come back in `errors` (and `valid` is false) rather than as a 400, so a form can show the
    plan and the problems together."""

    run_id = serializers.CharField()
    workflow_id = serializers.CharField()
    fork_step = serializers.CharField(help_text="Dotted path of the step re-executed from.")
    fork_path = serializers.ListField(child=serializers.CharField())
    new_run = serializers.BooleanField(help_text="True when a new linked run will be created.")
    input = AnyJSON(help_text="The input the step will get.")
    recorded_input = AnyJSON()
    output_diffs = serializers.DictField(
        child=JSONDiffSerializer(many=True), help_text="Edited outputs by dotted step path."
    )
    steps = PlannedStepSerializer(many=True)
    reuse = serializers.ListField(child=serializers.CharField())
    errors = FieldProblemSerializer(many=True)
    valid = serializers.BooleanField()
