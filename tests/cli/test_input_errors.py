"""A person's mistakes get one line naming the problem and exit code 2, never a traceback."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from autonomos.cli.app import app
from tests.cli.test_cli import _env

runner = CliRunner()


@pytest.fixture
def cli(database_url, redis_url, namespace, tmp_path):
    env = _env(database_url, redis_url, namespace, tmp_path)
    slug = f"err-{uuid.uuid4().hex[:6]}"
    assert runner.invoke(app, ["tenant", "create", slug], env=env).exit_code == 0
    source = tmp_path / "sources" / slug / "people.csv"
    source.parent.mkdir(parents=True)
    source.write_text("id,name\n1,Ada\n")
    made = runner.invoke(app, ["connection", "create", "people", "--tenant", slug, "--provider", "files",
                               "--config", f'{{"path": "{source}", "primary_key": ["id"]}}'], env=env)
    assert made.exit_code == 0, made.output

    def invoke(*args: str):
        return runner.invoke(app, [*args, "--tenant", slug], env=env)

    return invoke


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text and "\n" not in text, text
    assert text.startswith("error:"), text
    for word in words:
        assert word in text, text


DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(("args", "words"), [
    (["connection", "create", "x", "--provider", "files", "--config", "{oops"], ["--config", "not valid JSON"]),
    (["connection", "create", "x", "--provider", "files", "--config", "@/no/such/file.json"],
     ["--config", "cannot read /no/such/file.json"]),
    (["records", "list", "contact", "--where", "foo"], ["--where 'foo'", "field=value"]),
    (["review", "show", "not-a-uuid"], ["proposal", "'not-a-uuid' is not an id"]),
    (["review", "edit", str(uuid.uuid4()), "--transform", '{"op": "scale", "factor": NaN}'],
     ["--transform", "NaN is not a JSON number"]),
    (["review", "edit", str(uuid.uuid4()), "--transform", '{"op": "scale", "factor": 1e999}'],
     ["--transform", "out of range"]),
    (["quarantine", "retry", "1", "--payload", '{"a": ' + DEEP + "}"], ["--payload", "nested too deeply"]),
    (["sync", "people", "--stream", "nosuch"], ["no such stream 'nosuch'", "it has people"]),
    (["records", "list", "nosuchentity"], ["no such entity 'nosuchentity'"]),
])
def test_mistakes_are_one_line_and_exit_code_2(cli, args, words):
    _one_line_error(cli(*args), *words)


def test_a_known_entity_without_records_is_an_empty_list(cli):
    listed = cli("records", "list", "contact")
    assert listed.exit_code == 0, listed.output


@pytest.mark.parametrize(("document", "words"), [
    ("name: crm\ntables: []\n", ["at least one entity"]),
    ("name: crm\ntables:\n" + "".join(f"  - name: e{i}\n" for i in range(1_001)), ["1001 entities", "limit of 1000"]),
    ("- just\n- a list\n", ["an ontology is a mapping"]),
])
def test_ontology_imports_are_validated(cli, tmp_path, document, words):
    path = tmp_path / "ontology.yaml"
    path.write_text(document)
    _one_line_error(cli("ontology", "import", str(path)), *words)
