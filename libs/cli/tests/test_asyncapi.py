from pathlib import Path

import pytest

from v2v_cli.commands.asyncapi import documents, stale

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_committed_asyncapi_documents_are_current() -> None:
    """CI fails when a handler or contract changed and docs/asyncapi was not regenerated."""
    assert stale(ROOT / "docs" / "asyncapi") == []


def test_documents_describe_what_each_service_consumes_and_publishes() -> None:
    docs = documents()
    assert set(docs) == {"custody", "logistics", "batch", "qc", "journey"}
    for name, doc in docs.items():
        assert doc["asyncapi"] == "3.0.0"
        channels = " ".join(doc["channels"])
        if name != "journey":
            assert f"v2v.{name}.commands" in channels
            assert f"v2v.{name}.events:publish" in channels
    assert "LotProduced" in str(docs["custody"]["components"]["schemas"])
    assert "v2v.batch.commands:publish" in " ".join(docs["journey"]["channels"])


def test_a_changed_document_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "asyncapi"
    target.mkdir()
    for name in ("custody", "logistics", "batch", "qc", "journey"):
        (target / f"{name}.asyncapi.json").write_text("{}\n")
    assert len(stale(target)) == 5
