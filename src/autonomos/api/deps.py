"""What routes share: the runtime, the caller, and the caller's tenant at a given role.

The dependencies are ``async`` although they never wait: FastAPI runs a plain ``def``
dependency in the threadpool, a thread hop per dependency per request for a few attribute reads."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request

from autonomos.api.auth import principal, require
from autonomos.api.pagination import MAX_LIMIT
from autonomos.api.problems import ApiProblem
from autonomos.runtime import Runtime
from autonomos.services.apikeys import Principal


async def runtime(request: Request) -> Runtime:
    return request.app.state.rt


RT = Annotated[Runtime, Depends(runtime)]
Caller = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 1000).")]
Cursor = Annotated[str | None, Query(description="``next_cursor`` of the previous page.")]


# The role dependencies take the request, not ``Caller``: one dependency less to solve on every
# route (``principal`` answers once per request, so a route that also asks for ``Caller`` is
# not verified or rate-limited twice).

async def reader(request: Request) -> uuid.UUID:
    return require(await principal(request), "reader")


async def reviewer(request: Request) -> uuid.UUID:
    return require(await principal(request), "reviewer")


async def admin(request: Request) -> uuid.UUID:
    return require(await principal(request), "admin")


ReaderTenant = Annotated[uuid.UUID, Depends(reader)]
ReviewerTenant = Annotated[uuid.UUID, Depends(reviewer)]
AdminTenant = Annotated[uuid.UUID, Depends(admin)]


async def platform(who: Caller) -> uuid.UUID:
    """The platform key's id; a tenant key (of any role) is refused."""
    if who.tenant_id is not None:
        raise ApiProblem(403, "this action needs a platform key", kind="forbidden")
    return who.key_id


PlatformKey = Annotated[uuid.UUID, Depends(platform)]
