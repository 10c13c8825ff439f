"""The HTTP API: FastAPI over the service layer, authenticated by API keys, tenant-scoped."""

from autonomos.api.app import create_app

__all__ = ["create_app"]
