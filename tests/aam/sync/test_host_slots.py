"""Job slots per host: a worker process beyond the host's slots stands by instead of slowing
every running job, a dead holder's lease lapses, and a Redis flush or outage never stops work."""

from __future__ import annotations

import time
import uuid

import redis

from autonomos.aam.sync.host_slots import HostSlots


def _slots(client, key, holder, *, slots=2, lease_s=1.0):
    return HostSlots(client, key, slots=slots, holder=holder, lease_s=lease_s)


def test_holders_beyond_the_slots_wait_until_one_is_given_back(redis_client):
    key = f"test:job-slots:{uuid.uuid4().hex}"
    a, b, c = (_slots(redis_client, key, name) for name in "abc")
    try:
        assert a.try_acquire() and b.try_acquire()
        assert not c.try_acquire() and not c.held
        assert a.try_acquire(), "a holder keeps its own slot"
        a.release()
        assert c.try_acquire() and c.held
        assert sorted(m.decode() for m in redis_client.zrange(key, 0, -1)) == ["b", "c"]
    finally:
        for s in (a, b, c):
            s.close()
    assert redis_client.zcard(key) == 0


def test_a_dead_holders_lease_lapses_and_a_live_one_is_renewed(redis_client):
    key = f"test:job-slots:{uuid.uuid4().hex}"
    live, dead, waiting = (_slots(redis_client, key, name, lease_s=1.0) for name in ("live", "dead", "waiting"))
    try:
        assert live.try_acquire() and dead.try_acquire()
        dead._stop.set()  # a killed process renews nothing
        assert not waiting.try_acquire()
        time.sleep(1.6)  # past the dead lease, within the live one's renewals
        assert waiting.try_acquire(), "the dead holder's slot came free"
        assert redis_client.zscore(key, "live") is not None, "the live holder kept its slot by renewing"
    finally:
        for s in (live, dead, waiting):
            s.close()


def test_a_flush_loses_no_running_holder_and_an_outage_fails_open(redis_client):
    key = f"test:job-slots:{uuid.uuid4().hex}"
    held = _slots(redis_client, key, "running", slots=1, lease_s=1.0)
    try:
        assert held.try_acquire()
        redis_client.delete(key)  # what a FLUSHALL does to this key
        time.sleep(0.6)  # one renewal later
        assert redis_client.zscore(key, "running") is not None
    finally:
        held.close()
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    outage = _slots(unreachable, key, "cut-off", slots=1, lease_s=1.0)
    try:
        assert outage.try_acquire(), "without Redis a worker works without a slot"
    finally:
        outage.close()
