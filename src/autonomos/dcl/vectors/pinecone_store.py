"""The Pinecone backend (production): one serverless index per dimension, one namespace per tenant.

The SDK (``autonomos[pinecone]``) is imported only when this backend is built. Vector ids
are ``kind|model|ref_id``; kind, model and ref_id are also metadata so queries and deletes
can filter on them. Every library error is translated here, in ``_calls``. Pinecone is
eventually consistent: a write becomes visible to queries and counts shortly after it returns.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autonomos.dcl.vectors.exceptions import VectorStoreError, VectorStoreUnavailable
from autonomos.dcl.vectors.typing import VectorHit, VectorRecord


@contextmanager
def _calls(action: str, **context: Any) -> Iterator[None]:
    """Translate the SDK's exceptions into ours, chained, in one place."""
    import pinecone

    try:
        yield
    except (pinecone.PineconeConnectionError, pinecone.PineconeTimeoutError, pinecone.ServiceError,
            pinecone.RateLimitError) as exc:
        raise VectorStoreUnavailable(f"pinecone {action} failed: {exc}", backend="pinecone", **context) from exc
    except pinecone.PineconeError as exc:
        raise VectorStoreError(f"pinecone {action} failed: {exc}", backend="pinecone", **context) from exc


class PineconeStore:
    name = "pinecone"

    def __init__(self, api_key: str, *, index_prefix: str = "aos", cloud: str = "aws", region: str = "us-east-1") -> None:
        try:
            from pinecone import Pinecone
        except ImportError as exc:
            raise VectorStoreError("the pinecone SDK is not installed: pip install 'autonomos[pinecone]'") from exc
        if not api_key:
            raise VectorStoreError("VECTOR_STORE=pinecone needs PINECONE_API_KEY")
        self._pc = Pinecone(api_key=api_key)
        self.index_prefix, self.cloud, self.region = index_prefix, cloud, region
        self._indexes: dict[int, Any] = {}

    def _index(self, dimensions: int, *, create: bool = False) -> Any | None:
        if dimensions not in self._indexes:
            from pinecone import ServerlessSpec

            name = f"{self.index_prefix}-{dimensions}"
            with _calls("index lookup", index=name):
                if not self._pc.has_index(name):
                    if not create:
                        return None
                    self._pc.create_index(name=name, dimension=dimensions, metric="cosine",
                                          spec=ServerlessSpec(cloud=self.cloud, region=self.region))
                self._indexes[dimensions] = self._pc.Index(name)
        return self._indexes[dimensions]

    def _all_indexes(self) -> list[Any]:
        with _calls("list indexes"):
            names = [i.name for i in self._pc.list_indexes()]
        dims = [int(n.rsplit("-", 1)[1]) for n in names
                if n.startswith(f"{self.index_prefix}-") and n.rsplit("-", 1)[1].isdigit()]
        return [i for d in dims if (i := self._index(d)) is not None]

    def upsert(self, records: Sequence[VectorRecord]) -> int:
        groups: dict[tuple[uuid.UUID, int], list[dict]] = defaultdict(list)
        for r in records:
            metadata = {"kind": r.kind, "ref_id": r.ref_id, "model": r.model, "content_hash": r.content_hash,
                        "source_system": r.source_system, "object_type": r.object_type, "field_name": r.field_name,
                        "mapping_id": str(r.mapping_id) if r.mapping_id else None}
            groups[(r.tenant_id, r.dimensions)].append({
                "id": f"{r.kind}|{r.model}|{r.ref_id}", "values": [float(x) for x in r.vector],
                "metadata": {k: v for k, v in metadata.items() if v is not None}})
        for (tenant_id, dims), vectors in groups.items():
            with _calls("upsert", tenant=tenant_id):
                self._index(dims, create=True).upsert(vectors=vectors, namespace=str(tenant_id), batch_size=100,
                                                      show_progress=False)
        return len(records)

    def delete(
        self, tenant_id: uuid.UUID, *, refs: Sequence[tuple[str, str]] | None = None,
        kind: str | None = None, model: str | None = None,
    ) -> None:
        filters: list[dict[str, Any]] = []
        if refs is not None:
            by_kind: dict[str, list[str]] = defaultdict(list)
            for k, ref_id in refs:
                by_kind[k].append(ref_id)
            filters = [{"kind": {"$eq": k}, "ref_id": {"$in": ids}} for k, ids in by_kind.items()]
        else:
            condition = {key: {"$eq": value} for key, value in (("kind", kind), ("model", model)) if value}
            filters = [condition] if condition else []
        for index in self._all_indexes():
            with _calls("delete", tenant=tenant_id):
                if refs is None and not filters:
                    self._delete_namespace(index, tenant_id)
                for condition in filters:
                    index.delete(filter=condition, namespace=str(tenant_id))

    @staticmethod
    def _delete_namespace(index: Any, tenant_id: uuid.UUID) -> None:
        import pinecone

        try:
            index.delete(delete_all=True, namespace=str(tenant_id))
        except pinecone.NotFoundError:
            pass  # the tenant never had vectors of this size

    def query(
        self, tenant_id: uuid.UUID, vector: Sequence[float], k: int, *, model: str, kind: str | None = None
    ) -> list[VectorHit]:
        index = self._index(len(vector))
        if index is None:
            return []
        condition: dict[str, Any] = {"model": {"$eq": model}} | ({"kind": {"$eq": kind}} if kind else {})
        with _calls("query", tenant=tenant_id):
            response = index.query(vector=[float(x) for x in vector], top_k=k, namespace=str(tenant_id),
                                   filter=condition, include_metadata=True)
        return [VectorHit(m.metadata["kind"], m.metadata["ref_id"], float(m.score)) for m in response.matches
                if m.metadata and "kind" in m.metadata and "ref_id" in m.metadata]

    def purge_tenant(self, tenant_id: uuid.UUID) -> None:
        self.delete(tenant_id)

    def count(self, tenant_id: uuid.UUID) -> int:
        total = 0
        for index in self._all_indexes():
            with _calls("stats", tenant=tenant_id):
                summary = index.describe_index_stats().namespaces.get(str(tenant_id))
            total += summary.vector_count if summary else 0
        return total
