"""Errors survive a JSON round trip through `error_to_dict` / `error_from_dict`.

A rebuilt error keeps its class (or a same-named stand-in when the class cannot be imported),
its message, its public attributes and its `__cause__` chain. Every round trip here goes through
`json.dumps`/`json.loads`, as a database would.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from engines import StoredError
from engines.core.error_codec import error_from_dict, error_to_dict


def round_trip(exc: BaseException) -> BaseException:
    """`exc` serialized, sent through JSON text, and rebuilt."""
    return error_from_dict(json.loads(json.dumps(error_to_dict(exc))))


def chained(*errors: BaseException) -> BaseException:
    """Link `errors` so each one is the `__cause__` of the one before; return the first."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def cause_chain(exc: BaseException | None) -> list[tuple[str, str]]:
    """The (class name, message) of an error and of each of its causes, outermost first."""
    out: list[tuple[str, str]] = []
    while exc is not None:
        out.append((type(exc).__name__, str(exc)))
        exc = exc.__cause__
    return out


class PaymentDeclined(Exception):
    """A custom error whose `__init__` needs arguments and builds the message from them."""

    init_calls = 0

    def __init__(self, order_id: int, reason: str) -> None:
        type(self).init_calls += 1
        super().__init__(f"payment for order {order_id} declined: {reason}")
        self.order_id = order_id
        self.reason = reason


class WithOddAttributes(Exception):
    """An error carrying attributes that are not JSON values."""


# -- builtins ---------------------------------------------------------------------------------


def test_a_builtin_error_is_rebuilt_as_the_same_builtin_class() -> None:
    """A `ValueError` comes back as a `ValueError` with the same message and args."""
    rebuilt = round_trip(ValueError("amount must be positive"))
    assert type(rebuilt) is ValueError
    assert str(rebuilt) == "amount must be positive"
    assert rebuilt.args == ("amount must be positive",)


def test_a_builtin_error_is_stored_with_its_module_and_class_name() -> None:
    """The stored form names the class and its module, for readers of the JSON."""
    data = error_to_dict(ValueError("bad"))
    assert data["type"] == "ValueError"
    assert data["module"] == "builtins"
    assert data["message"] == "bad"


def test_a_key_error_keeps_its_message_after_a_round_trip() -> None:
    """`str()` of a rebuilt `KeyError` equals the original's (`'missing'`, quoted once).

    A step that reads a missing key fails with a `KeyError`; stored and reloaded, the run's
    error message must read the same as in-process.
    """
    original = KeyError("missing")
    rebuilt = round_trip(original)
    assert type(rebuilt) is KeyError
    assert str(rebuilt) == str(original)


# -- classes defined in importable modules ----------------------------------------------------


def test_a_custom_error_is_rebuilt_as_its_own_class() -> None:
    """A class importable here (this test module) is rebuilt as that very class."""
    rebuilt = round_trip(PaymentDeclined(7, "card expired"))
    assert type(rebuilt) is PaymentDeclined
    assert isinstance(rebuilt, PaymentDeclined)


def test_a_custom_error_keeps_its_message_and_attributes() -> None:
    """The message and public attributes come back unchanged."""
    rebuilt = round_trip(PaymentDeclined(7, "card expired"))
    assert str(rebuilt) == "payment for order 7 declined: card expired"
    assert rebuilt.order_id == 7  # type: ignore[attr-defined]
    assert rebuilt.reason == "card expired"  # type: ignore[attr-defined]


def test_a_custom_error_is_rebuilt_without_calling_its_init() -> None:
    """An `__init__` with required arguments cannot be called blindly, so it is not called."""
    data = json.loads(json.dumps(error_to_dict(PaymentDeclined(7, "card expired"))))
    before = PaymentDeclined.init_calls
    error_from_dict(data)
    assert PaymentDeclined.init_calls == before


# -- classes that cannot be imported here -----------------------------------------------------


def foreign_error(name: str, message: str, **attrs: Any) -> Exception:
    """An error of a class that claims to live in a module nobody imported."""
    cls = type(name, (Exception,), {"__module__": "billing_service_not_installed.errors"})
    exc: Exception = cls(message)
    for key, value in attrs.items():
        setattr(exc, key, value)
    return exc


def test_an_error_from_a_module_not_imported_becomes_a_stored_error() -> None:
    """The class cannot be found, so a `StoredError` subclass stands in for it."""
    rebuilt = round_trip(foreign_error("CardDeclined", "declined"))
    assert isinstance(rebuilt, StoredError)
    assert isinstance(rebuilt, Exception)


def test_the_stand_in_keeps_the_class_name_module_and_message() -> None:
    """The stand-in class has the original `__name__` and `__module__`; the message is kept."""
    rebuilt = round_trip(foreign_error("CardDeclined", "declined", code=51))
    assert type(rebuilt).__name__ == "CardDeclined"
    assert type(rebuilt).__module__ == "billing_service_not_installed.errors"
    assert str(rebuilt) == "declined"
    assert rebuilt.code == 51  # type: ignore[attr-defined]


def test_the_stand_in_round_trips_to_the_same_stored_form() -> None:
    """Storing a rebuilt stand-in again gives the JSON it was rebuilt from."""
    data = json.loads(json.dumps(error_to_dict(foreign_error("CardDeclined", "no", code=5))))
    assert error_to_dict(error_from_dict(data)) == data


def test_stand_ins_of_one_class_share_one_class() -> None:
    """Two errors of the same missing class are rebuilt with the same stand-in class."""
    first = round_trip(foreign_error("Timeout", "one"))
    second = round_trip(foreign_error("Timeout", "two"))
    assert type(first) is type(second)


def test_a_hand_written_stored_error_is_rebuilt() -> None:
    """JSON written by another process (no Python class at all) is readable."""
    rebuilt = error_from_dict(
        {"type": "QuotaExceeded", "module": "remote.api", "message": "quota", "attributes": {}}
    )
    assert type(rebuilt).__name__ == "QuotaExceeded"
    assert isinstance(rebuilt, StoredError)
    assert str(rebuilt) == "quota"


# -- cause chains -----------------------------------------------------------------------------


def test_a_cause_chain_deeper_than_two_is_kept_link_by_link() -> None:
    """Four linked errors come back as four linked errors, in order, with their messages."""
    original = chained(
        RuntimeError("order failed"),
        PaymentDeclined(7, "card expired"),
        ValueError("bad card number"),
        foreign_error("ParseError", "unexpected digit"),
    )
    rebuilt = round_trip(original)
    assert cause_chain(rebuilt) == cause_chain(original)
    assert len(cause_chain(rebuilt)) == 4


def test_each_link_of_a_cause_chain_keeps_its_class() -> None:
    """Importable links are their own classes; the missing one is a stand-in."""
    rebuilt = round_trip(
        chained(
            RuntimeError("outer"),
            PaymentDeclined(1, "inner"),
            ValueError("deeper"),
            foreign_error("ParseError", "deepest"),
        )
    )
    links: list[BaseException] = []
    current: BaseException | None = rebuilt
    while current is not None:
        links.append(current)
        current = current.__cause__
    assert [type(link) for link in links[:3]] == [RuntimeError, PaymentDeclined, ValueError]
    assert isinstance(links[3], StoredError)
    assert links[1].order_id == 1  # type: ignore[attr-defined]


def test_a_cause_chain_made_with_raise_from_is_kept() -> None:
    """Errors linked by `raise ... from ...` keep the link after a round trip."""
    try:
        try:
            try:
                raise KeyError("sku")
            except KeyError as exc:
                raise ValueError("no such product") from exc
        except ValueError as exc:
            raise RuntimeError("checkout failed") from exc
    except RuntimeError as exc:
        original = exc
    rebuilt = round_trip(original)
    assert [name for name, _ in cause_chain(rebuilt)] == ["RuntimeError", "ValueError", "KeyError"]
    assert rebuilt.__cause__ is not None
    assert str(rebuilt.__cause__) == "no such product"


def test_the_last_link_of_a_rebuilt_chain_has_no_cause() -> None:
    """The chain ends where the original ended."""
    rebuilt = round_trip(chained(ValueError("a"), ValueError("b"), ValueError("c")))
    assert rebuilt.__cause__ is not None
    assert rebuilt.__cause__.__cause__ is not None
    assert rebuilt.__cause__.__cause__.__cause__ is None


# -- attributes -------------------------------------------------------------------------------


def test_attributes_that_are_not_json_are_stored_as_their_repr() -> None:
    """A datetime, a set and an arbitrary object are kept as their `repr` text."""
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    marker = object()
    exc = WithOddAttributes("odd")
    exc.when = when  # type: ignore[attr-defined]
    exc.tags = {"only"}  # type: ignore[attr-defined]
    exc.marker = marker  # type: ignore[attr-defined]
    rebuilt = round_trip(exc)
    assert rebuilt.when == repr(when)  # type: ignore[attr-defined]
    assert rebuilt.tags == repr({"only"})  # type: ignore[attr-defined]
    assert rebuilt.marker == repr(marker)  # type: ignore[attr-defined]


def test_non_json_values_nested_in_json_attributes_are_stored_as_their_repr() -> None:
    """Inside a dict or list attribute, only the values JSON cannot hold become text."""
    when = datetime(2024, 5, 1, tzinfo=UTC)
    exc = WithOddAttributes("odd")
    exc.details = {"at": when, "count": 2, "ids": (1, 2)}  # type: ignore[attr-defined]
    rebuilt = round_trip(exc)
    assert rebuilt.details == {"at": repr(when), "count": 2, "ids": [1, 2]}  # type: ignore[attr-defined]


def test_json_attributes_are_kept_as_they_were() -> None:
    """Numbers, strings, booleans, None, lists and dicts come back equal."""
    exc = WithOddAttributes("plain")
    exc.count = 3  # type: ignore[attr-defined]
    exc.ratio = 0.5  # type: ignore[attr-defined]
    exc.ok = False  # type: ignore[attr-defined]
    exc.nothing = None  # type: ignore[attr-defined]
    exc.items = [1, "two", {"three": 3}]  # type: ignore[attr-defined]
    rebuilt = round_trip(exc)
    for name in ("count", "ratio", "ok", "nothing", "items"):
        assert getattr(rebuilt, name) == getattr(exc, name)


def test_private_attributes_are_not_stored() -> None:
    """Attributes starting with an underscore stay out of the stored form."""
    exc = WithOddAttributes("private")
    exc._secret = "token"  # type: ignore[attr-defined]
    exc.public = 1  # type: ignore[attr-defined]
    data = error_to_dict(exc)
    assert data["attributes"] == {"public": 1}
    assert not hasattr(round_trip(exc), "_secret")
