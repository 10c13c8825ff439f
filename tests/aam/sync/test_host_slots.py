"""Host slots: a per-machine bound on jobs running at once, across worker processes, that the
kernel frees when a holder dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

from autonomos.aam.sync.host_slots import HostSlots, default_host_slots, default_worker_slots, cpu_count


def test_at_most_capacity_holders_and_a_released_slot_is_free_again(tmp_path):
    slots = HostSlots(2, tmp_path)
    first, second = slots.try_take(), slots.try_take()
    assert first is not None and second is not None
    assert slots.try_take() is None
    second.release()
    third = slots.try_take()
    assert third is not None and slots.try_take() is None
    first.release()
    third.release()


def test_capacity_zero_means_no_limit(tmp_path):
    slots = HostSlots(0, tmp_path)
    held = [slots.try_take() for _ in range(50)]
    assert all(h is not None for h in held)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_holder_frees_its_slot_without_any_expiry(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from autonomos.aam.sync.host_slots import HostSlots;"
         f"held = HostSlots(1, Path({str(tmp_path)!r})).try_take(); print(held is not None, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        assert HostSlots(1, tmp_path).try_take() is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert HostSlots(1, tmp_path).try_take() is not None


def test_a_waiter_keeps_alive_and_gives_up_when_stopped(tmp_path):
    slots = HostSlots(1, tmp_path)
    held = slots.try_take()
    stopping, beats = threading.Event(), []
    threading.Timer(0.5, stopping.set).start()
    started = time.monotonic()
    assert slots.take(stopping, lambda: beats.append(1), keep_alive_s=0.1) is None
    assert time.monotonic() - started < 5 and len(beats) >= 2
    held.release()
    assert slots.take(threading.Event(), lambda: None) is not None


def test_defaults_follow_the_cpus_this_process_may_use():
    assert default_host_slots() == 2 * cpu_count()
    assert default_worker_slots() == max(2, cpu_count())


def test_a_lock_directory_others_may_write_is_refused(tmp_path, monkeypatch):
    import pytest

    from autonomos.aam.sync import host_slots
    from autonomos.errors import ConfigurationError

    monkeypatch.setattr(host_slots.tempfile, "gettempdir", lambda: str(tmp_path))
    assert host_slots.slot_directory().is_dir()  # made here, the user's own
    (tmp_path / f"autonomos-host-slots-{host_slots.os.getuid()}").chmod(0o777)
    with pytest.raises(ConfigurationError, match="this user's alone"):
        host_slots.slot_directory()
