"""The connector catalogue: the kinds of source a connection can have, with their config schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from autonomos.api.deps import Cursor, Limit, ReaderTenant
from autonomos.api.models import ConnectorKind, Page
from autonomos.api.pagination import page_of
from autonomos.services import catalogue

router = APIRouter(prefix="/connector-kinds", tags=["connections"])


@router.get("", response_model=Page[ConnectorKind])
def list_kinds(tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    return page_of(catalogue.list_kinds(), lambda k: k["provider"], cursor, limit)


@router.get("/{provider}", response_model=ConnectorKind)
def show_kind(tenant: ReaderTenant, provider: str = Path(max_length=64)) -> dict[str, Any]:
    """One provider's config JSON Schema (credentials are given apart, in ``credentials``)."""
    return catalogue.get_kind(provider)
