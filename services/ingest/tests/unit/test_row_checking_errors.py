"""What crosses from ingest's checking process to the worker when reading a file fails: a file's error arrives with
the code and detail its refused upload shows, a mapping error whole, and an error that cannot cross by its type
alone (row_checking, checking_process)."""

import pickle

import pytest

from ingest.domain.portfolio import MappingError
from ingest.row_checking import CheckingFailed, sendable
from recaudo_common.files import FileFormatError, LineTooLongError

pytestmark = pytest.mark.unit


def crossed(error: Exception) -> Exception:
    sent = sendable(error)
    received = pickle.loads(pickle.dumps(sent))  # noqa: S301 - the test's own bytes
    assert isinstance(received, Exception)
    return received


def test_a_file_error_crosses_with_its_code_and_detail_even_from_a_subclass() -> None:
    received = crossed(LineTooLongError(41, 1000, "x" * 70_000))
    assert type(received) is FileFormatError
    assert (received.code, received.detail) == ("line_too_long", "the line after line 41 is longer than 1000 "
                                                 "characters (an unclosed quote, or not a portfolio)")


def test_a_mapping_error_crosses_whole() -> None:
    error = MappingError("missing_required_columns", "no column for account_ref", missing=["account_ref"],
                         headers=["Cuenta", "Saldo"], ambiguous={"balance": ["Saldo", "Saldo total"]})
    received = crossed(error)
    assert isinstance(received, MappingError)
    assert (received.code, received.detail, received.missing, received.headers, received.ambiguous) == (
        "missing_required_columns", "no column for account_ref", ["account_ref"], ["Cuenta", "Saldo"],
        {"balance": ["Saldo", "Saldo total"]})


def test_an_error_that_cannot_cross_is_named_by_its_type_alone() -> None:
    class Local(Exception):  # defined in a function: pickle cannot find its class again
        pass

    received = crossed(Local("Ana María, cédula 1020304050"))
    assert isinstance(received, CheckingFailed)
    assert str(received) == "checking the rows failed with Local"  # the message may quote a cell: not sent


def test_an_ordinary_error_keeps_its_type() -> None:
    received = crossed(ZeroDivisionError("division by zero"))
    assert type(received) is ZeroDivisionError
