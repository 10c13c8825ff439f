"""The reranker's client at its vendor boundary: retries overloaded answers, and a failed or
unparseable call leaves the proposal as it was, with the failure recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from autonomos.dcl.matching.reranker import Reranker
from autonomos.dcl.matching.typing import Candidate, FieldProposal, SourceField

PROPOSAL = FieldProposal("deals", "value", (Candidate("opportunity", "name", 0.6), Candidate("opportunity", "amount", 0.55)),
                         "review", ("runner-up too close",))
FIELD = SourceField("deals", "value", "number", samples=(12000, 450.5))


class _Flaky(BaseHTTPRequestHandler):
    """503 for the first two calls, then a chat completion whose content is ``answer``."""

    calls = 0
    answer = '{"choice": 2, "reason": "a number of money"}'

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls += 1
        if type(self).calls <= 2:
            self.send_response(503)
            self.end_headers()
            return
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": type(self).answer}}],
                           "usage": {"prompt_tokens": 50, "completion_tokens": 10}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_overloaded_answers_are_retried_and_the_choice_moves_first(flaky):
    reranker = Reranker(flaky, "m", usd_per_1k_tokens=1.0)
    reranked, call = reranker.rerank(PROPOSAL, FIELD)
    assert _Flaky.calls == 3 and call.error is None and call.choice == 2
    assert [c.target_field for c in reranked.candidates] == ["amount", "name"] and reranked.decision == "review"
    assert call.cost_usd == pytest.approx(0.06) and reranked.reasons[-1].startswith("reranker chose opportunity.amount")


def test_a_call_that_keeps_failing_leaves_the_proposal_and_records_why(flaky):
    reranked, call = Reranker(flaky, "m", attempts=2).rerank(PROPOSAL, FIELD)
    assert reranked == PROPOSAL and "503" in call.error and call.answer is None


def test_an_answer_naming_no_candidate_changes_nothing(flaky, monkeypatch):
    monkeypatch.setattr(_Flaky, "answer", "I think the second one, probably.")
    reranked, call = Reranker(flaky, "m").rerank(PROPOSAL, FIELD)
    assert reranked == PROPOSAL and call.choice is None and call.error == "answer names no candidate"
