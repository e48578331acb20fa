"""A multipart/form-data body read as it arrives: its small fields are kept, its one file is handed on chunk by chunk
(or, for a file its route reads whole anyway, gathered up to a cap: read_small_upload).

Starlette's own form parser spools a whole file to temporary disk before the route runs; a portfolio can be
gigabytes, so its route reads the request stream through this instead and writes each chunk to storage as it
comes. Memory is bounded by one network chunk plus the fields' cap, whatever the file's size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from recaudo_common.errors import ProblemError

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32


def _invalid(detail: str) -> ProblemError:
    return ProblemError(422, "invalid_form", "Invalid form", detail)


class StreamedForm:
    """Iterate `file_chunks()` to the end; then `fields` holds every other field, wherever it stood in the body."""

    def __init__(self, body: AsyncIterator[bytes], content_type: str, *, file_field: str,
                 max_field_bytes: int = MAX_FIELD_BYTES, max_fields: int = MAX_FIELDS) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise ProblemError(415, "unsupported_media_type", "Unsupported media type",
                               "send the file as multipart/form-data")
        self.body, self.file_field = body, file_field
        self.max_field_bytes, self.max_fields = max_field_bytes, max_fields
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._file_seen = self._ended = False
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._in_file = False
        self._part: str | None = None  # the text field being read, if any
        self._field = bytearray()
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        })

    async def file_chunks(self) -> AsyncIterator[bytes]:
        async for data in self.body:
            self._parser.write(data)
            if self._pending:
                chunk = b"".join(self._pending)
                self._pending.clear()
                yield chunk
        self._parser.finalize()
        if self._pending:
            yield b"".join(self._pending)
            self._pending.clear()
        if not self._ended:
            raise _invalid("the form ends before its closing boundary")
        if not self._file_seen:
            raise _invalid(f"the form has no {self.file_field!r} file part")

    def _part_begin(self) -> None:
        self._headers, self._part, self._in_file = {}, None, False

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == self.file_field:
            if self._file_seen:
                raise _invalid(f"the form has more than one {self.file_field!r} part")
            self._file_seen = self._in_file = True
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace")[:255] if raw is not None else None
            return
        if not name or b"filename" in options:
            raise _invalid(f"a form part other than {self.file_field!r} must be a named text field")
        if len(self.fields) >= self.max_fields or name in self.fields:
            raise _invalid(f"the form has too many fields, or {name[:40]!r} twice")
        self._part = name
        self._field.clear()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])
            return
        self._field += data[start:end]
        if len(self._field) > self.max_field_bytes:
            raise _invalid(f"the field {self._part!r} is longer than {self.max_field_bytes} bytes")

    def _part_end(self) -> None:
        if self._part is not None:
            try:
                self.fields[self._part] = self._field.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _invalid(f"the field {self._part!r} is not UTF-8") from exc
        self._part, self._in_file = None, False

    def _end(self) -> None:
        self._ended = True


@dataclass(frozen=True)
class SmallUpload:
    """A form's one file, read whole (a bank statement, a recall list: each read whole by its handler anyway), and
    its text fields."""

    content: bytes
    filename: str | None
    fields: dict[str, str]


async def read_small_upload(request: Request, *, max_bytes: int, what: str, file_field: str = "file") -> SmallUpload:
    """The request's multipart/form-data body, read by the route itself, so after its dependencies have authorised
    the caller (FastAPI parses a File or Form parameter before them: another client company's key would have its
    upload spooled, or its malformed form answered 400, before its 403). Refused 413 `file_too_large` as soon as
    the file passes `max_bytes`; 415 and 422 `invalid_form` as StreamedForm."""
    form = StreamedForm(request.stream(), request.headers.get("content-type", ""), file_field=file_field)
    content = bytearray()
    async for chunk in form.file_chunks():
        if len(content) + len(chunk) > max_bytes:
            raise ProblemError(413, "file_too_large", "File too large",
                               f"{what} is at most {max_bytes // (1024 * 1024)} MiB")
        content += chunk
    return SmallUpload(bytes(content), form.filename, dict(form.fields))


def form_request_body(fields: dict[str, str] | type[BaseModel], examples: dict[str, Any], *,
                      file_field: str = "file") -> dict[str, Any]:
    """The OpenAPI of a form read as a stream or by read_small_upload (FastAPI cannot describe it from parameters):
    its file and its optional text `fields`, either name -> description or the model the route checks them with
    (each field's own schema, as text that may be left out), with named examples; a route's `openapi_extra`."""
    described = (fields.items() if isinstance(fields, dict)
                 else ((name, info.description or "") for name, info in fields.model_fields.items()))
    properties: dict[str, Any] = {file_field: {"type": "string", "format": "binary"}, **{
        name: {"type": "string", **({"description": about} if about else {})} for name, about in described}}
    if not isinstance(fields, dict):
        for name, schema in fields.model_json_schema()["properties"].items():
            properties[name].update(_text_schema(schema))
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": [file_field], "properties": properties},
        "examples": examples}}}}


def _text_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A model field's schema as a form field's: the branch that is not null (a form field is left out, not
    null), with its format and length kept."""
    branch = next((b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"), schema)
    return {k: v for k, v in branch.items() if k in ("format", "maxLength", "pattern")}
