"""The committed AsyncAPI document is what the catalogue generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from oneplan_events.asyncapi import REGENERATE, asyncapi_document, render
from oneplan_events.catalogue import Catalogue, DataClass, Event

REPOSITORY = Path(__file__).resolve().parents[4]


def test_committed_asyncapi_matches_the_catalogue() -> None:
    # A fresh interpreter: other tests register throwaway event types in this one.
    result = subprocess.run(
        [sys.executable, "-m", "oneplan_events.asyncapi", "--check"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"docs/asyncapi.yaml is stale; regenerate it with:\n  {REGENERATE}\n{result.stdout}"
    )


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text("asyncapi: 3.0.0\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "oneplan_events.asyncapi", "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert REGENERATE in result.stdout


def small_catalogue() -> Catalogue:
    catalogue = Catalogue()

    @catalogue.register("oneplan.demo.thing.made", DataClass.STORY, version=2, summary="Made.")
    class ThingMade(Event):
        name: str
        kind: DataClass

    return catalogue


def test_document_shape() -> None:
    document = asyncapi_document(small_catalogue())
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["embedded"]["protocol"] == "nats"
    channel = document["channels"]["oneplan.demo.thing.made"]
    assert channel["address"] == "oneplan.demo.thing.made"
    operation = document["operations"]["publish.oneplan.demo.thing.made"]
    assert operation["action"] == "send"
    assert operation["channel"] == {"$ref": "#/channels/oneplan.demo.thing.made"}
    message = document["components"]["messages"]["oneplan.demo.thing.made"]
    assert message["x-oneplan-schema-version"] == 2
    assert message["x-oneplan-dataclass"] == "story"
    assert message["payload"]["required"] == ["name", "kind"]
    assert message["payload"]["properties"]["kind"] == {"$ref": "#/components/schemas/DataClass"}
    assert "DataClass" in document["components"]["schemas"]
    headers = message["headers"]["allOf"][1]["properties"]
    assert headers["ce-dataschema"]["const"] == "urn:oneplan:event:oneplan.demo.thing.made:v2"


def test_every_reference_resolves() -> None:
    text = render()
    document = yaml.safe_load(text)
    references: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    references.append(value)
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert references
    for reference in references:
        node = document
        for part in reference.removeprefix("#/").split("/"):
            node = node[part]
    assert render() == text  # deterministic
