"""The Django implementation of the engines' storage protocol.

`DjangoStorage` is the class to use; `plan` turns one save into plain values on the event loop
and `sql` writes them in one transaction.
"""

from workflows_app.storage.django_storage import DjangoStorage
from workflows_app.storage.plan import FULL_SNAPSHOT_EVERY

__all__ = ["FULL_SNAPSHOT_EVERY", "DjangoStorage"]
