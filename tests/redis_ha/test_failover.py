"""A Sentinel failover under load: nothing lost that was handed out, nothing handed out twice.

Real processes on loopback: a master, a replica and three Sentinels; the API, two
Celery workers and beat; three clients checking VMs out and giving them back. The
master is killed mid-run. See scenario.py.
"""

from __future__ import annotations

from tests.redis_ha import scenario


def test_killing_the_master_fails_over_without_double_hand_outs_or_lost_vms():
    result = scenario.run(wait_replicas=1)
    # The service continued on the promoted replica, without a restart.
    assert result["first_checkout_after_promotion_s"] is not None
    assert result["first_checkout_after_promotion_s"] <= 10
    # During the switch: JSON 503s that say Redis is unavailable, never a 500 or a dropped request.
    assert set(result["statuses"]) <= {"200", "503"}, result["statuses"]
    assert result["non_json"] == 0 and result["no_answer"] == 0
    assert result["redis_503"] >= 1
    # No VM handed out twice; every VM given back was accepted in the end.
    assert result["checkouts_ok"] > 0
    assert result["handed_out_twice"] == []
    assert result["unreturned"] == []
    # Settled: no VM in two state sets, every dummy VM in one of them.
    assert result["in_two_sets"] == {}
    assert result["unaccounted_provider_vms"] == []
    # Health and Prometheus name the promoted replica and count the failover.
    health = result["health_redis"]
    assert health["master"] == result["replica_address"]
    assert health["failovers"] >= 1 and health["previous_master"] != result["replica_address"]
    assert health["reconnects"] >= 1
    assert [float(line.rsplit(" ", 1)[1]) >= 1 for line in result["prometheus_failovers"]] == [True]
    assert result["status_footer"].startswith(f"redis master: {result['replica_address']} (1 failover(s); ")
    assert result["api_unhandled_errors"] == []
