"""The optional LLM reranker: a second opinion on `review`-tier proposals, off by default.

It asks an OpenAI-compatible chat-completions API which of a field's ranked candidates fits
(or none), and moves the chosen one to the front. It never changes a decision tier: a person
still reviews the field, with the model's choice and reason as one more piece of evidence.
Every call keeps its prompt, answer, tokens and cost so the agent run can record them.
The HTTP call is the one vendor boundary here; library errors are translated in ``_post``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from autonomos.config import Settings
from autonomos.dcl.matching.exceptions import RerankerError, RerankerUnavailable
from autonomos.dcl.matching.typing import FieldProposal, SourceField

SYSTEM_PROMPT = (
    "You map fields of a source system onto a canonical data model. Given one source field and "
    "numbered candidate canonical fields, answer with JSON only: "
    '{"choice": <candidate number, or 0 if none fits>, "reason": "<one short sentence>"}.'
)
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RerankCall:
    """One question to the model and what came back, as the agent run records it."""

    source_table: str
    source_field: str
    messages: list[dict[str, str]]
    answer: str | None = None
    choice: int | None = None
    reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None

    def as_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Reranker:
    """Client of one OpenAI-compatible endpoint and model."""

    def __init__(
        self, url: str, model: str, api_key: str | None = None, *, usd_per_1k_tokens: float = 0.0,
        timeout: float = 30.0, attempts: int = 3,
    ) -> None:
        self.model = model
        self.usd_per_1k_tokens = usd_per_1k_tokens
        self.attempts = attempts
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=url.rstrip("/") + "/", headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def rerank(self, proposal: FieldProposal, source: SourceField) -> tuple[FieldProposal, RerankCall]:
        """The proposal with the model's choice first (decision unchanged), and the call's record."""
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": _question(proposal, source)}]
        call = RerankCall(proposal.source_table, proposal.source_field, messages)
        try:
            body = self._post({"model": self.model, "messages": messages, "temperature": 0})
        except RerankerError as exc:
            return proposal, dataclasses.replace(call, error=str(exc))
        usage = body.get("usage") or {}
        prompt_tokens, completion_tokens = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        answer = _content(body)
        choice, reason = _parse(answer, len(proposal.candidates))
        call = dataclasses.replace(
            call, answer=answer, choice=choice, reason=reason, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=round((prompt_tokens + completion_tokens) / 1000 * self.usd_per_1k_tokens, 6),
            error=None if choice is not None else "answer names no candidate")
        return _apply(proposal, choice, reason), call

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        @retry(retry=retry_if_exception_type(RerankerUnavailable), stop=stop_after_attempt(self.attempts),
               wait=wait_exponential(multiplier=0.2, max=4), reraise=True)
        def send() -> dict[str, Any]:
            try:
                response = self._client.post("chat/completions", json=payload)
            except httpx.TransportError as exc:
                raise RerankerUnavailable(f"reranker unreachable: {exc}", model=self.model) from exc
            if response.status_code in RETRYABLE_STATUS:
                raise RerankerUnavailable(f"reranker answered {response.status_code}", model=self.model)
            if response.status_code >= 400:
                raise RerankerError(f"reranker answered {response.status_code}: {response.text[:200]}",
                                    model=self.model)
            try:
                return response.json()
            except ValueError as exc:
                raise RerankerError("reranker answered something other than JSON", model=self.model) from exc

        return send()


def reranker_from_settings(settings: Settings) -> Reranker | None:
    """The configured reranker, or None: it is off unless both its URL and model are set."""
    if not (settings.reranker_url and settings.reranker_model):
        return None
    key = settings.reranker_api_key.get_secret_value() if settings.reranker_api_key else None
    return Reranker(settings.reranker_url, settings.reranker_model, key,
                    usd_per_1k_tokens=settings.reranker_usd_per_1k_tokens)


def _question(proposal: FieldProposal, source: SourceField) -> str:
    lines = [f"Source field: {source.table}.{source.name} (type {source.type})"]
    if source.description:
        lines.append(f"Description: {source.description}")
    if source.samples:
        lines.append("Sample values: " + ", ".join(str(v) for v in source.samples[:5]))
    lines.append("Candidates:")
    lines += [f"{n}. {c.target_table}.{c.target_field}" for n, c in enumerate(proposal.candidates, start=1)]
    return "\n".join(lines)


def _content(body: dict[str, Any]) -> str:
    try:
        return str(body["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        return ""


def _parse(answer: str, candidates: int) -> tuple[int | None, str | None]:
    """(choice, reason) from the JSON answer (or a bare number); None when it names no valid candidate."""
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    try:
        parsed = json.loads(match.group(0)) if match else {"choice": int(answer.strip())}
    except ValueError:
        return None, None
    choice = parsed.get("choice") if isinstance(parsed, dict) else None
    if not isinstance(choice, int) or not 0 <= choice <= candidates:
        return None, None
    reason = parsed.get("reason")
    return choice, reason if isinstance(reason, str) else None


def _apply(proposal: FieldProposal, choice: int | None, reason: str | None) -> FieldProposal:
    if not choice:
        note = "reranker: none of the candidates fits" if choice == 0 else None
        return dataclasses.replace(proposal, reasons=(*proposal.reasons, note)) if note else proposal
    chosen = proposal.candidates[choice - 1]
    ordered = (chosen, *(c for c in proposal.candidates if c is not chosen))
    note = f"reranker chose {chosen.target_table}.{chosen.target_field}" + (f": {reason}" if reason else "")
    return dataclasses.replace(proposal, candidates=ordered, reasons=(*proposal.reasons, note))
