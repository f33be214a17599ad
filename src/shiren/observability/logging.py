"""How every shiren process logs: ``configure_logging(settings)``, called once by the command line.

``log_format="text"``: ``ts LEVEL logger message`` lines, as before. ``"json"``: one JSON object a line
(``ts``, ``level``, ``logger``, ``message``, ``request_id`` within a request, ``exc`` with a traceback), on
the standard library alone. What goes in ``message`` is the caller's business: shiren's own lines carry
metadata only (action, status, timings, ids), never parameters, names, ID numbers, URLs or images.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from shiren.observability.request_id import current_request_id
from shiren.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """A record as one JSON line; the request id is read when the record is formatted, in the thread that
    logged it (handlers here format synchronously)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _ShirenHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler configure_logging installs (and replaces when called again)."""


def configure_logging(settings: Settings) -> None:
    """INFO and above of every logger to stderr, in ``settings.log_format``; alembic's chatter hidden."""
    handler = _ShirenHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ShirenHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
