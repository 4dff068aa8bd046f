"""schemas.logs: request ids, the JSON and text line formats, the writer thread."""

from __future__ import annotations

import io
import json
import logging

import pytest

from schemas.logs import (
    TextFormatter,
    configure_logging,
    new_request_id,
    request_id,
    valid_request_id,
)


@pytest.mark.parametrize("rid", ["a", "x" * 64, "req-42:7/abc", "9f1c" * 8])
def test_short_printable_ids_are_accepted(rid: str) -> None:
    assert valid_request_id(rid) == rid


@pytest.mark.parametrize("rid", [None, "", "x" * 65, "has space", "tab\tid", "caf\u00e9", "a\r\nb"])
def test_empty_long_spaced_or_non_ascii_ids_are_refused(rid: str | None) -> None:
    assert valid_request_id(rid) is None


def test_new_ids_are_valid_and_distinct() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(valid_request_id(i) for i in ids)


def test_json_lines_carry_time_level_logger_message_request_id_extras_and_traceback() -> None:
    out = io.StringIO()
    log = logging.getLogger("test.logs.json")
    with configure_logging("DEBUG", "json", stream=out):
        token = request_id.set("rid-1")
        try:
            log.info("hello %s", "world", extra={"status": 200, "obj": object.__name__})
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("failed")
        finally:
            request_id.reset(token)
        log.debug("outside")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["hello world", "failed", "outside"]
    first, second, third = lines
    assert first["level"] == "INFO"
    assert first["logger"] == "test.logs.json"
    assert first["request_id"] == "rid-1"
    assert (first["status"], first["obj"]) == (200, "object")
    assert first["time"].endswith("Z")
    assert "ValueError: boom" in second["exc_info"]
    assert second["request_id"] == "rid-1"
    assert "request_id" not in third


def test_text_lines_end_with_the_request_id_when_one_is_set() -> None:
    formatter = TextFormatter()
    record = logging.LogRecord("x", logging.WARNING, "f", 1, "careful", None, None)
    assert formatter.format(record).endswith("WARNING x: careful")
    record.request_id = "rid-2"
    assert formatter.format(record).endswith("WARNING x: careful [request_id=rid-2]")


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"), configure_logging("INFO", "xml"):
        pass
    with pytest.raises(ValueError, match="level"), configure_logging("LOUD", "json"):
        pass
