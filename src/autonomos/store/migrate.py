"""Apply and inspect migrations programmatically (``aos migrate``, the tests, the demo).

The core tree always applies. The ``vectors`` tree applies when the vector store is
pgvector and the server can install the ``vector`` extension; otherwise it is skipped
and ``aos doctor`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text

from autonomos.engines.postgres import to_sqlalchemy_url

CORE = "alembic"
VECTORS = "vectors"

_VERSION_TABLES = {CORE: "alembic_version", VECTORS: "alembic_version_vectors"}


def alembic_config(url: str, tree: str = CORE) -> Config:
    """An Alembic config for one tree, independent of the working directory."""
    cfg = Config(ini_section=tree)
    location = resources.files("autonomos") / "migrations" / ("core" if tree == CORE else "vectors")
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["url"] = to_sqlalchemy_url(url).render_as_string(hide_password=False)
    return cfg


def pgvector_available(url: str) -> bool:
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first() is not None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class MigrationState:
    tree: str
    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def state(url: str, tree: str = CORE) -> MigrationState:
    cfg = alembic_config(url, tree)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLES[tree]})
            current = ctx.get_current_revision()
    finally:
        engine.dispose()
    return MigrationState(tree, current, head or "")


def upgrade(url: str, *, with_vectors: bool | None = None) -> list[str]:
    """Upgrade core, then vectors where wanted and possible; returns the trees applied."""
    command.upgrade(alembic_config(url, CORE), "head")
    applied = [CORE]
    if with_vectors is None:
        with_vectors = pgvector_available(url)
    if with_vectors:
        command.upgrade(alembic_config(url, VECTORS), "head")
        applied.append(VECTORS)
    return applied


def downgrade_all(url: str) -> None:
    """Undo everything (vectors first), leaving an empty database and no roles."""
    if state(url, VECTORS).current is not None:
        command.downgrade(alembic_config(url, VECTORS), "base")
    command.downgrade(alembic_config(url, CORE), "base")
