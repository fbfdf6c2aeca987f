from django.apps import AppConfig


class WorkflowsAppConfig(AppConfig):
    """The Stepback web app."""

    name = "workflows_app"
    verbose_name = "Stepback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows_app import (
            checks,  # noqa: F401  (registers the system checks)
            step_source,
        )

        step_source.collect_registered()
