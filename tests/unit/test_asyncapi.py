"""The AsyncAPI document: generated from ``schemas``, valid AsyncAPI 3.0, complete, current."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT7, DRAFT202012

from schemas.asyncapi import OPS, SAMPLES, build, render
from schemas.codec import encode
from schemas.errors import ErrorBody
from schemas.subjects import EventKind, Op, parse_event_subject, subject_for

REPO = Path(__file__).resolve().parents[2]
OFFICIAL = REPO / "tests" / "support" / "asyncapi" / "asyncapi-3.0.0.schema.json"
DOC_URI = "urn:webtrader:asyncapi"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build()


def test_committed_document_is_the_generated_one() -> None:
    committed = (REPO / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/asyncapi.json is stale: python -m schemas.asyncapi > docs/asyncapi.json"
    )


def test_document_is_valid_against_the_official_asyncapi_3_schema(doc: dict[str, Any]) -> None:
    official = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    resource = referencing.Resource.from_contents(official, default_specification=DRAFT7)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        official["$id"], resource
    )
    validator = jsonschema.Draft7Validator(official, registry=registry.crawl())
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    # the validator does catch a broken document
    broken = {
        **doc,
        "operations": {"x": {"action": "fly", "channel": {"$ref": "#/channels/inbox"}}},
    }
    assert list(validator.iter_errors(broken))


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    found = list(refs(doc))
    assert len(found) > 100
    for ref in found:
        assert resolve(doc, ref) is not None, ref


def test_every_event_kind_and_op_has_its_channel_and_operation(doc: dict[str, Any]) -> None:
    for kind in EventKind:
        channel = doc["channels"][f"{kind.value}Events"]
        assert channel["address"].startswith(f"wt.{{engine}}.evt.{kind.value}")
        operation = doc["operations"][f"receive{kind.name.title()}Events"]
        assert operation["action"] == "receive"
    for op in Op:
        assert doc["channels"][f"{op.value}Requests"]["address"] == f"wt.{{engine}}.req.{op.value}"
        operation = doc["operations"][op.value]
        assert operation["action"] == "send"
        replies = [r["$ref"].rsplit("/", 1)[1] for r in operation["reply"]["messages"]]
        assert replies == [f"{op.value}Reply", "serviceError"]
    assert set(OPS) == set(Op)


def test_channel_parameters_are_those_of_the_address(doc: dict[str, Any]) -> None:
    for name, channel in doc["channels"].items():
        if channel["address"] is None:
            continue
        in_address = set(re.findall(r"\{(\w+)\}", channel["address"]))
        assert in_address == set(channel.get("parameters", {})), name


def payload_validator(doc: dict[str, Any], message: str) -> jsonschema.Draft202012Validator:
    """A validator of one message's payload, its $refs resolved in the document."""
    resource = referencing.Resource.from_contents(doc, default_specification=DRAFT202012)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(DOC_URI, resource)
    schema = {"$ref": f"{DOC_URI}#/components/messages/{message}/payload"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.mark.parametrize("kind", [k for k in EventKind if SAMPLES[k] is not None])
def test_an_event_as_the_bridge_encodes_it_matches_its_payload_and_address(
    doc: dict[str, Any], kind: EventKind
) -> None:
    sample = SAMPLES[kind]
    assert sample is not None
    payload_validator(doc, f"{kind.value}Event").validate(json.loads(encode(sample)))
    subject = subject_for("sim", kind, sample)
    pattern = doc["channels"][f"{kind.value}Events"]["address"]
    regex = re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")
    assert re.fullmatch(re.sub(r"\{\w+\}", r"[^.]+", regex), subject), (pattern, subject)
    assert parse_event_subject(subject).kind is kind


def test_error_replies_carry_the_error_body_and_both_headers(doc: dict[str, Any]) -> None:
    message = doc["components"]["messages"]["serviceError"]
    assert set(message["headers"]["required"]) == {"Nats-Service-Error-Code", "Nats-Service-Error"}
    body = json.loads(encode(ErrorBody(detail="no", field="price")))
    payload_validator(doc, "serviceError").validate(body)
