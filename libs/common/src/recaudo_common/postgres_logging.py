"""What PostgreSQL's own log may print: the settings every server the platform starts or deploys runs with, so that
no key value, statement text or bound parameter of personal data reaches it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# A unique violation's DETAIL prints the key ("Key (id_number)=(1020304050) already exists"), a NOT NULL or CHECK
# violation's the whole row; a failing statement is logged with its literals, a slow or sampled one with its
# parameters. auto_explain (plans with parameters) is never loaded: no server preloads it.
SERVER_LOG_SETTINGS: Final[Mapping[str, str]] = MappingProxyType({
    "log_error_verbosity": "terse",  # no DETAIL, HINT, QUERY or CONTEXT lines
    "log_min_error_statement": "panic",  # no statement text next to an error
    "log_parameter_max_length": "0",  # no bound parameters in statement or duration lines
    "log_parameter_max_length_on_error": "0",
    "log_statement": "none",
    "log_min_duration_statement": "-1",  # no slow-query log: it prints the statement
    "log_min_duration_sample": "-1",
})

# CloudNativePG forces the csvlog format, and csvlog writes an error's DETAIL whatever log_error_verbosity says
# (PostgreSQL's csvlog.c): there ERROR lines stay out of the server's log altogether. The services log their own
# failures (without values); LOG, FATAL and PANIC lines (checkpoints, lock waits, crashes) are still written.
CSVLOG_SETTINGS: Final[Mapping[str, str]] = MappingProxyType({**SERVER_LOG_SETTINGS, "log_min_messages": "log"})


def command_line(settings: Mapping[str, str]) -> list[str]:
    """The settings as `postgres` command-line flags (`-c name=value`)."""
    return [flag for name, value in settings.items() for flag in ("-c", f"{name}={value}")]
