"""A failed upload said in Spanish on the console, from its code and what its record keeps (failure_labels)."""

import json

import pytest

from ingest.domain.columns import MappingError, map_columns
from ingest.domain.failure_labels import FAILURES, failure_detail
from ingest.records import UploadFailure

pytestmark = pytest.mark.unit


def said(exc: MappingError) -> str:
    """The refusal said as the console says it, from what the upload's record keeps (uploads.handlers.refusal)."""
    kept = json.loads(UploadFailure(exc.code, exc.detail, missing=exc.missing, headers=exc.headers,
                                    ambiguous=exc.ambiguous).detail_json())
    return failure_detail(exc.code, missing=kept["missing"], ambiguous=kept["ambiguous"])


def test_missing_and_ambiguous_columns_are_named_in_spanish() -> None:
    with pytest.raises(MappingError) as missing:
        map_columns(["Obligación", "Cédula", "Nombre"])
    assert said(missing.value).startswith("Al archivo le faltan columnas obligatorias: el saldo; la fecha de "
                                          "vencimiento o los días de mora.")
    with pytest.raises(MappingError) as ambiguous:
        map_columns(["Obligación", "Cédula", "Nombre", "Saldo Capital", "Saldo Total", "Mora", "Cliente"])
    assert said(ambiguous.value).startswith("Varias columnas corresponden a un mismo campo: el saldo: «Saldo "
                                            "Capital» y «Saldo Total»; el nombre: «Nombre» y «Cliente».")


def test_every_failure_is_said_without_english() -> None:
    for code, sentence in FAILURES.items():
        assert failure_detail(code) == sentence
        assert "the " not in sentence and code not in sentence
    assert failure_detail("processing_failed", attempts=3).startswith(
        "El procesamiento de la carga se detuvo 3 veces seguidas sin avanzar")
    # A record kept before its fields were, and a code added later, still read as Spanish.
    assert failure_detail("missing_required_columns") == "La carga no se pudo procesar."
    assert failure_detail("some_new_code") == "La carga no se pudo procesar."
