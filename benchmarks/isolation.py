"""The isolation checker: nothing of one tenant is visible to another, through every interface.

Every tenant of the load has a unique marker in its slug, its connection names and every
record it wrote. What one tenant can see through each interface is collected as text and
searched for the *other* tenants' markers and for ids (UUIDs) that the owner's view of the
database says belong to another tenant. The interfaces, each counted on its own:

* ``rows``: as the app role in tenant A's context, the rows of any other tenant in every table
  that has a ``tenant_id`` column (must be none);
* ``direct_ids``: the same role reading other tenants' rows by their ids, table by table;
* ``vectors``: the vector store queried in A's context with other tenants' own vectors: every
  hit must resolve to a row of A;
* ``redis``: every key in Redis; one holding a tenant's marker must lie under that tenant's
  prefix (``<namespace>:t:<tenant id>:``), and a key under A's prefix holds nothing of another;
* ``notifications``: A's notification log; ``sse``: A's ``/events/stream`` as read during the load;
* ``webhooks``: what A's receiver got (it must also have got something);
* ``api``: every list route with A's key (a few pages each), every id route with A's own ids,
  and every id route with another tenant's ids (any answer but 404 counts);
* ``console``: A signed in, every page, and other tenants' objects by id (must be 404).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from autonomos.dcl.vectors.sources import split_ref
from autonomos.dcl.vectors.store import vector_store
from autonomos.notifications import read as read_notifications
from autonomos.runtime import Runtime

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOGIN = re.compile(r'name="login_token" value="([^"]+)"')
ID_TABLES = {"connection_id": "connections", "run_id": "sync_runs", "record_id": "canonical_records",
             "proposal_id": "mapping_proposals", "version_id": "mapping_versions", "key_id": "api_keys",
             "item_id": "quarantine", "snapshot_id": "schema_snapshots",
             "ontology_version_id": "canonical_schema_versions", "agent_run_id": "agent_runs",
             "eval_run_id": "eval_runs", "link_id": "entity_links", "webhook_id": "webhooks",
             "delivery_id": "webhook_deliveries", "mapping_id": "mappings"}
"""Path parameter of the API and console -> the table its ids come from."""
SKIPPED_ROUTES = ("/events/stream", "/tenants", "/healthz", "/readyz", "/metrics")
CONSOLE_PAGES = ("/console/connections", "/console/connections/active.json", "/console/review", "/console/mappings",
                 "/console/drift", "/console/records?entity=account", "/console/lineage", "/console/quarantine")
CONSOLE_BY_ID = ("/console/review/{proposal_id}", "/console/records/{record_id}", "/console/mappings/{mapping_id}",
                 "/console/quarantine/{item_id}")
PAGES = 3


class Checker:
    """Collects what each tenant sees, then counts what belongs to someone else."""

    def __init__(self, rt: Runtime, owner, tenants: list[Any]) -> None:
        self.rt, self.owner, self.tenants = rt, owner, tenants
        self.markers = {t.info.id: t.marker for t in tenants}
        self.slugs = {t.info.id: t.info.slug for t in tenants}
        self.seen: dict[str, dict[uuid.UUID, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.violations: dict[str, int] = defaultdict(int)
        self.checked: dict[str, int] = defaultdict(int)
        self.details: list[str] = []
        self.tables = [r[0] for r in owner.sql(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
            " USING (table_schema, table_name) WHERE c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'"
            " AND c.table_schema = current_schema() ORDER BY 1")]
        self.with_id = {r[0] for r in owner.sql(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'id'"
            " AND table_schema = current_schema()")} & set(self.tables)

    # --- collection -------------------------------------------------------------------------
    def ids_of(self, table: str, tenant_id: uuid.UUID, n: int = 3) -> list[Any]:
        return [r[0] for r in self.owner.sql(f"SELECT id FROM {table} WHERE tenant_id = %(t)s LIMIT {n}", t=tenant_id)]

    def rows(self) -> None:
        for t in self.tenants:
            others = {o.info.id: {table: self.ids_of(table, o.info.id) for table in self.with_id}
                      for o in self.tenants if o is not t}
            for table in self.tables:
                try:
                    with self.rt.db.tenant(t.info.id) as session:
                        visible = session.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id <> :t"),
                                                  {"t": t.info.id}).scalar_one()
                except ProgrammingError as exc:  # the app role may not read it at all (platform tables)
                    if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
                        raise
                    self.checked["rows_not_readable"] += 1
                    continue
                self.checked["rows"] += 1
                if visible:
                    self._violation("rows", t, f"{visible} rows of other tenants in {table}")
                if table not in self.with_id:
                    continue
                ids = [i for by_table in others.values() for i in by_table[table]]
                if ids:
                    with self.rt.db.tenant(t.info.id) as session:
                        found = session.execute(text(f"SELECT count(*) FROM {table} WHERE id = ANY(:ids)"),
                                                {"ids": ids}).scalar_one()
                    self.checked["direct_ids"] += len(ids)
                    if found:
                        self._violation("direct_ids", t, f"{found} rows of other tenants read by id in {table}")

    def vectors(self) -> None:
        if "vector_items" not in self.tables:
            return
        store = vector_store(self.rt)
        for t in self.tenants:
            for other in self.tenants:
                if other is t:
                    continue
                probes = self.owner.sql("SELECT embedding::text, model FROM vector_items WHERE tenant_id = %(t)s"
                                        " ORDER BY random() LIMIT 5", t=other.info.id)
                for embedding, model in probes:
                    vector = [float(x) for x in embedding.strip("[]").split(",")]
                    for hit in store.query(t.info.id, vector, 20, model=model):
                        owner_id, _ = split_ref(hit.kind, hit.ref_id)
                        self.seen["vectors"][t.info.id].append(str(owner_id))
                        self.checked["vectors"] += 1

    def redis(self) -> None:
        client = self.rt.redis
        prefixes = {t.info.id: self.rt.keys.tenant_prefix(t.info.id) for t in self.tenants}
        for raw in client.scan_iter(count=1000):
            key = raw.decode("utf-8", "replace")
            value = _redis_text(client, raw)
            self.checked["redis"] += 1
            holder = next((tid for tid, prefix in prefixes.items() if key.startswith(prefix)), None)
            for tid, marker in self.markers.items():
                if marker in key + value and tid != holder:
                    self._violation("redis", tid, f"marker {marker} outside its tenant's prefix: {key}")
            if holder is not None:
                self.seen["redis"][holder].append(key + "\n" + value)

    def notifications(self, taps: dict[uuid.UUID, str], hooks: dict[str, list[str]]) -> None:
        for t in self.tenants:
            with self.rt.db.tenant(t.info.id) as session:
                rows = read_notifications(session, t.info.id, after=0, limit=100_000)
            self.checked["notifications"] += len(rows)
            self.seen["notifications"][t.info.id].append(repr(rows))
            if t.info.id in taps:
                self.seen["sse"][t.info.id].append(taps[t.info.id])
                self.checked["sse"] += taps[t.info.id].count("\nid:") + taps[t.info.id].startswith("id:")
            if hooks is not None:
                received = hooks.get(f"/hook/{t.info.slug}", [])
                self.checked["webhooks"] += len(received)
                if not received:  # A's receiver must hear A's events, or the check proves nothing
                    self._violation("webhooks", t, f"no delivery received ({self._deliveries(t.info.id)})")
                self.seen["webhooks"][t.info.id].extend(received)

    def api(self, api_url: str) -> None:
        with httpx.Client(base_url=api_url, timeout=60) as client:
            routes = [p for p, item in client.get("/openapi.json").json()["paths"].items() if "get" in item
                      and not p.startswith(SKIPPED_ROUTES)]
            for t in self.tenants:
                headers = {"Authorization": f"Bearer {t.api_key}"}
                for path in routes:
                    params = re.findall(r"{(\w+)}", path)
                    if not params:
                        self._walk(client, t, path, headers)
                        continue
                    if not set(params) <= set(ID_TABLES):
                        continue
                    for other in self.tenants:
                        filled = self._fill(path, params, other.info.id)
                        if filled is None:
                            continue
                        response = _get(client, filled, headers)
                        self.checked["api"] += 1
                        if other is t:
                            self.seen["api"][t.info.id].append(response.text)
                        else:  # the answer names the id asked for; it must say no more than a missing one
                            self._refused("api", t, filled, response)

    def _walk(self, client: httpx.Client, tenant, path: str, headers: dict[str, str]) -> None:
        params: dict[str, Any] = {"limit": 200, **({"entity": "account"} if path in ("/records", "/changes") else {})}
        for _ in range(PAGES):
            response = _get(client, path, headers, params)
            self.checked["api"] += 1
            self.seen["api"][tenant.info.id].append(response.text)
            cursor = response.json().get("next_cursor") if response.status_code == 200 and \
                response.headers.get("content-type", "").startswith("application/json") else None
            if not isinstance(cursor, str):
                return
            params["cursor"] = cursor

    def _fill(self, path: str, params: list[str], tenant_id: uuid.UUID) -> str | None:
        values = {}
        for name in params:
            ids = self.ids_of(ID_TABLES[name], tenant_id, 1)
            if not ids:
                return None
            values[name] = ids[0]
        return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)

    def console(self, api_url: str) -> None:
        for t in self.tenants:
            with httpx.Client(base_url=api_url, timeout=60, follow_redirects=False) as client:
                cookies = _sign_in(client, t.api_key)
                if cookies is None:
                    self._violation("console", t, "could not sign in")
                    continue
                headers = {"Cookie": cookies}
                for page in CONSOLE_PAGES:
                    response = client.get(page, headers=headers)
                    self.checked["console"] += 1
                    if response.status_code != 200:
                        self._violation("console", t, f"GET {page}: {response.status_code}")
                    self.seen["console"][t.info.id].append(response.text)
                for other in self.tenants:
                    for pattern in CONSOLE_BY_ID:
                        filled = self._fill(pattern, re.findall(r"{(\w+)}", pattern), other.info.id)
                        if filled is None:
                            continue
                        response = client.get(filled, headers=headers)
                        self.checked["console"] += 1
                        if other is t:
                            self.seen["console"][t.info.id].append(response.text)
                        else:
                            self._refused("console", t, filled, response)

    # --- verdict ----------------------------------------------------------------------------
    def judge(self) -> dict[str, int]:
        """Count other tenants' markers and ids in everything each tenant saw."""
        found = {m for by_tenant in self.seen.values() for texts in by_tenant.values() for s in texts
                 for m in UUID.findall(s)}
        owners = self._owners(found)
        for interface, by_tenant in self.seen.items():
            for tenant_id, texts in by_tenant.items():
                for s in texts:
                    for other, marker in self.markers.items():
                        if other != tenant_id and marker in s:
                            self._violation(interface, tenant_id, f"marker {marker} in {_around(s, marker)}")
                    for ident in set(UUID.findall(s)):
                        if owners.get(ident, tenant_id) != tenant_id:
                            self._violation(interface, tenant_id, f"id {ident} of {owners[ident]} in {_around(s, ident)}")
        interfaces = ("rows", "direct_ids", "vectors", "redis", "notifications", "sse", "webhooks", "api", "console")
        return {name: self.violations.get(name, 0) for name in interfaces}

    def _refused(self, interface: str, tenant: Any, path: str, response: httpx.Response) -> None:
        """Another tenant's object asked for by id: a 404 carrying none of the other tenants' markers."""
        if response.status_code != 404:
            self._violation(interface, tenant, f"GET {path}: {response.status_code}")
        for other, marker in self.markers.items():
            if other != tenant.info.id and marker in response.text:
                self._violation(interface, tenant, f"marker {marker} in the answer to GET {path}")

    def _deliveries(self, tenant_id: uuid.UUID) -> str:
        """The tenant's webhook deliveries by state and last error, to say why none arrived."""
        rows = self.owner.sql("SELECT status, coalesce(last_error, ''), count(*) FROM webhook_deliveries"
                              " WHERE tenant_id = %(t)s GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 3", t=tenant_id)
        return "; ".join(f"{n} {status}{': ' + error if error else ''}" for status, error, n in rows) or "none made"

    def _violation(self, interface: str, tenant: Any, what: str) -> None:
        self.violations[interface] += 1
        if len(self.details) < 50:
            slug = tenant.info.slug if hasattr(tenant, "info") else self.slugs.get(tenant, tenant)
            self.details.append(f"{interface} ({slug}): {what}")

    def _owners(self, ids: set[str]) -> dict[str, uuid.UUID]:
        """Which tenant owns each id (tenants themselves included), looked up in bulk as the owner."""
        if not ids:
            return {}
        listed = sorted(ids)
        owners = {str(r[0]): r[0] for r in self.owner.sql("SELECT id FROM tenants WHERE id = ANY(%(i)s::uuid[])",
                                                          i=listed)}
        for table in sorted(self.with_id):
            [(kind,)] = self.owner.sql("SELECT data_type FROM information_schema.columns WHERE table_name = %(t)s"
                                       " AND column_name = 'id' AND table_schema = current_schema()", t=table)
            if kind == "uuid":
                owners.update((str(i), t) for i, t in self.owner.sql(
                    f"SELECT id, tenant_id FROM {table} WHERE id = ANY(%(i)s::uuid[])", i=listed))
        return owners


def _around(s: str, needle: str, width: int = 150) -> str:
    at = s.find(needle)
    return s[max(0, at - width):at + len(needle) + width]


def _redis_text(client, key: bytes) -> str:
    kind = client.type(key).decode()
    try:
        if kind == "string":
            value: Any = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1)
        elif kind == "stream":
            value = client.xrange(key)
        else:
            value = b""
    except Exception:  # noqa: BLE001 - a key that expired between SCAN and read holds nothing
        value = b""
    return repr(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")


def _get(client: httpx.Client, path: str, headers: dict[str, str], params: dict | None = None) -> httpx.Response:
    for _ in range(20):
        response = client.get(path, headers=headers, params=params)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return response


def _sign_in(client: httpx.Client, key: str) -> str | None:
    """The console's sign-in form; returns the Cookie header (kept by hand: the cookie is
    ``Secure``, and a client keeps those only for https)."""
    page = client.get("/console/login")
    jar = _cookies(page)
    token = LOGIN.search(page.text)
    if token is None:
        return None
    response = client.post("/console/login", data={"key": key, "login_token": token.group(1)},
                           headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    jar.update(_cookies(response))
    return "; ".join(f"{k}={v}" for k, v in jar.items()) if response.status_code == 303 else None


def _cookies(response: httpx.Response) -> dict[str, str]:
    return dict(h.split(";", 1)[0].split("=", 1) for h in response.headers.get_list("set-cookie") if "=" in h)


def check(rt: Runtime, owner, tenants: list[Any], *, api_url: str | None, taps: dict[uuid.UUID, str],
          hooks: dict[str, list[str]] | None) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(violations per interface, items checked per interface, the first violations described)."""
    checker = Checker(rt, owner, tenants)
    checker.rows()
    checker.vectors()
    checker.redis()
    checker.notifications(taps, hooks)
    if api_url:
        checker.api(api_url)
        checker.console(api_url)
    return checker.judge(), dict(checker.checked), checker.details
