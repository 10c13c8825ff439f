"""The sync stage takes its connector factory and post-landing hook as required inputs and
tells the hook about every committed batch and the finished run."""

from __future__ import annotations

import inspect
import uuid

import pytest

from autonomos.aam.sync import jobs, runs
from autonomos.aam.sync import worker as sync_worker
from autonomos.aam.sync.engine import execute_run
from autonomos.aam.sync.hooks import OpenedConnector, SyncStage
from autonomos.errors import ConfigurationError
from autonomos.services import connections
from autonomos.services.sync_inputs import sync_engines
from autonomos.services.worker import ApplyAfterSync, sync_stage

from tests.aam.sync.conftest import write_accounts


class _Recorder:
    def __init__(self) -> None:
        self.batches, self.finished = [], []

    def run_succeeding(self, session, run) -> None:
        pass

    def batch_landed(self, batch) -> None:
        self.batches.append(batch)

    def run_finished(self, run) -> None:
        self.finished.append(run)


def test_the_stage_and_its_hook_are_required():
    for name in ("stage", "reconcile", "upkeep"):
        assert inspect.signature(sync_worker.run_worker).parameters[name].default is inspect.Parameter.empty
    with pytest.raises(ConfigurationError):
        jobs.set_worker(object())  # engines without a stage
    with pytest.raises(ConfigurationError):  # a job outside a wired worker leaves its run pending
        jobs.run_sync_job(str(uuid.uuid4()), str(uuid.uuid4()))


def test_the_platform_stage_applies_after_sync(rt):
    stage = sync_stage(rt)
    assert isinstance(stage.post_landing, ApplyAfterSync)


def test_the_hook_hears_every_batch_in_commit_order_and_the_finished_run(rt, file_connection):
    tenant_id, info, path = file_connection
    write_accounts(path, 12_000)
    recorder = _Recorder()

    def open_connector(tenant, connection) -> OpenedConnector:
        return OpenedConnector(connections.open_connector(rt, tenant, str(connection)), info.provider, info.name)

    with rt.db.tenant(tenant_id) as session:
        run, _ = runs.create_or_get_active(session, tenant_id, uuid.UUID(info.id), [], "incremental")
    assert execute_run(sync_engines(rt), SyncStage(open_connector, recorder), tenant_id, run.id, "hook-test") == "succeeded"
    assert len(recorder.batches) >= 2
    assert sum(b.result.read for b in recorder.batches) == 12_000
    assert {(b.run_id, b.stream) for b in recorder.batches} == {(run.id, "accounts")}
    [finished] = recorder.finished
    assert (finished.run_id, finished.status, finished.counts["read"]) == (run.id, "succeeded", 12_000)
