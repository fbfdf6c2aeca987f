"""The Django implementation of the engines' storage protocol.

`DjangoStorage` is the class to use; `plan` turns one save into plain values on the event loop
and `sql` writes them in one transaction. `writes_on_this_loop()` lets an execution loop of its
own write its saves without a thread hop (`loop_writes`).
"""

from workflows_app.storage.cache import LEVEL_BASE
from workflows_app.storage.django_storage import DjangoStorage
from workflows_app.storage.loop_writes import writes_on_this_loop

__all__ = ["LEVEL_BASE", "DjangoStorage", "writes_on_this_loop"]
