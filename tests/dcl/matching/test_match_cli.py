"""The `match` command through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from autonomos.cli.match_cmd import match
from autonomos.dcl.matching.embedders import embedder_label, get_embedder


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("match")(match)
    app.command("version")(lambda: None)  # a second command keeps "match" a subcommand, as in `aos`
    return app


def _args(cases_dir: Path, *extra: str) -> list[str]:
    return [
        "match",
        "--source",
        str(cases_dir / "pipedrive_like.schema.json"),
        "--target",
        str(cases_dir / "reworded_target.schema.json"),
        *extra,
    ]


def test_json_output_follows_the_format(cases_dir: Path) -> None:
    result = CliRunner().invoke(_app(), _args(cases_dir, "--json", "--top-k", "3"))
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    source = json.loads((cases_dir / "pipedrive_like.schema.json").read_text())
    assert len(output["mappings"]) == sum(len(t["fields"]) for t in source["tables"])
    for mapping in output["mappings"]:
        assert mapping["decision"] in {"auto", "review", "reject"}
        assert 1 <= len(mapping["candidates"]) <= 3
        assert set(mapping["candidates"][0]) == {"target_table", "target_field", "score", "estimate", "estimate_lower"}


def test_table_output_without_json_flag(cases_dir: Path) -> None:
    result = CliRunner().invoke(_app(), _args(cases_dir))
    assert result.exit_code == 0, result.output
    assert "decision" in result.stdout


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["match", "--source", str(tmp_path / "nope.json"), "--target", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


def test_embedder_is_chosen_by_name_and_named_in_the_output(cases_dir: Path) -> None:
    hashed = CliRunner().invoke(_app(), _args(cases_dir, "--json", "--embedder", "hashed-ngram"))
    default = CliRunner().invoke(_app(), _args(cases_dir, "--json"))
    assert hashed.exit_code == 0 and default.exit_code == 0, hashed.output + default.output
    assert json.loads(hashed.stdout)["embedder"] == "hashed-ngram-1024"
    assert json.loads(default.stdout)["embedder"] == embedder_label(get_embedder())  # with its precision
    assert json.loads(default.stdout)["embedder"] in ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2-bf16")
    fp32 = CliRunner().invoke(_app(), _args(cases_dir, "--json", "--embedder", "minilm-fp32"))
    assert fp32.exit_code == 0 and json.loads(fp32.stdout)["embedder"] == "all-MiniLM-L6-v2", fp32.output


def test_an_unknown_embedder_is_a_clear_error(cases_dir: Path) -> None:
    result = CliRunner().invoke(_app(), _args(cases_dir, "--json", "--embedder", "no-such-model"))
    assert result.exit_code == 2 and "unknown embedder 'no-such-model'" in result.output
