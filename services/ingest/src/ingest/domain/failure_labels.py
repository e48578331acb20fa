"""Why a whole upload failed, in Spanish, for the people who read it on the console: each failure code of a file,
its columns or its processing, said from the code and what the upload's record keeps beside it (the fields
missing, the columns that match one field, the tries), never from the API's English detail."""

from __future__ import annotations

from ingest.domain.issue_labels import FIELD_NAMES
from recaudo_common.files import MAX_COLUMN_NAME, MAX_COLUMNS

_TOO_BIG = "El libro de Excel pasa los límites que la plataforma lee"
FAILURES = {
    "unsupported_format": "El archivo no es de texto: envíe CSV, XLSX o JSON lines.",
    "invalid_encoding": "El texto del archivo no está en una codificación que se pueda leer (UTF-8, UTF-16 con su "
                        "marca o Windows-1252): guárdelo de nuevo como CSV UTF-8.",
    "empty_file": "El archivo no tiene fila de encabezado.",
    "malformed_csv": "Una fila del archivo no se puede leer como CSV (por ejemplo, una comilla sin cerrar).",
    "line_too_long": "Una línea del archivo es demasiado larga: quizá una comilla sin cerrar junta el resto del "
                     "archivo en un solo campo.",
    "too_many_columns": f"El archivo tiene más de {MAX_COLUMNS} columnas.",
    "invalid_header": f"Un nombre de columna del encabezado tiene más de {MAX_COLUMN_NAME} caracteres.",
    "invalid_xlsx": "El libro de Excel no se puede abrir: está dañado o no es un .xlsx.",
    "sheet_not_found": "El libro de Excel no tiene la hoja pedida.",
    "xlsx_sheet_too_large": f"{_TOO_BIG}: la hoja tiene demasiadas celdas.",
    "xlsx_too_large": f"{_TOO_BIG}: es demasiado grande una vez descomprimido.",
    "xlsx_too_many_sheets": f"{_TOO_BIG}: tiene demasiadas hojas.",
    "xlsx_too_many_strings": f"{_TOO_BIG}: tiene demasiados textos.",
    "xlsx_string_too_long": f"{_TOO_BIG}: una celda tiene un texto demasiado largo.",
    "xlsx_too_deep": f"{_TOO_BIG}: su estructura interna no es la de un libro normal.",
    "xlsx_dtd_refused": f"{_TOO_BIG}: declara entidades XML, que ningún libro necesita.",
    "invalid_mapping": "El mapeo de columnas nombra un campo que la plataforma no conoce o una columna que el "
                       "archivo no tiene.",
    "file_too_large": "El archivo supera el tamaño permitido.",
}
_ONE_OF_THE_TWO = "due_date or days_past_due"  # what map_columns lists when a file has neither


def _field(name: str) -> str:
    if name == _ONE_OF_THE_TWO:
        return f"{FIELD_NAMES['due_date']} o {FIELD_NAMES['days_past_due']}"
    return FIELD_NAMES.get(name, name)


def failure_detail(code: str, *, missing: list[str] | None = None, ambiguous: dict[str, list[str]] | None = None,
                   attempts: int | None = None) -> str:
    """What the failed upload's person reads: the code said in Spanish, with what the upload's record keeps beside
    it (the fields missing, the columns that match one field, the tries) when it does; a code without words of its
    own (added later) is named by the code the page shows beside it."""
    if code == "missing_required_columns" and missing:
        said = "; ".join(_field(f) for f in missing)
        return (f"Al archivo le faltan columnas obligatorias: {said}. Revise que la primera fila sea el "
                "encabezado, o cargue con un perfil de mapeo que diga qué columna es cada campo.")
    if code == "ambiguous_mapping" and ambiguous:
        said = "; ".join(f"{_field(f)}: " + " y ".join(f"«{h}»" for h in headers) for f, headers in ambiguous.items())
        return (f"Varias columnas corresponden a un mismo campo: {said}. Cargue con un perfil de mapeo que diga "
                "cuál usar.")
    if code == "processing_failed":
        times = f" {attempts} veces seguidas" if attempts else ""
        return (f"El procesamiento de la carga se detuvo{times} sin avanzar y se dejó aparte para que las demás "
                "cargas sigan. Envíela de nuevo, o pida ayuda a la agencia.")
    return FAILURES.get(code, "La carga no se pudo procesar.")
