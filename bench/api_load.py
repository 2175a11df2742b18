"""HTTP drivers of bench/api.py: a keep-alive stdlib client, and checkout + return
load from threads or from wrk (pools named ``hot000``, ``hot001``, ...)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import tempfile
import threading
import time

WRK_SCRIPT = r"""
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
  pools = tonumber(args[1])
end
local vm = nil
function request()
  if vm then
    local path = "/api/v1/vm/" .. vm
    vm = nil
    return wrk.format("DELETE", path)
  end
  return wrk.format("POST", string.format("/api/v1/vm/hot%03d", math.random(0, pools - 1)))
end
function response(status, headers, body)
  if status == 200 then vm = body:match('"hostname"%s*:%s*"([^"]+)"') end
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests": %d, "seconds": %.3f, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n', summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def percentiles(samples: list[float]) -> dict:
    """Milliseconds from seconds."""
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"n": len(ordered), "p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1] * 1000, 3)}


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, timeout: float = 30):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str) -> tuple[int, bytes]:
        self.conn.request(method, path)
        reply = self.conn.getresponse()
        return reply.status, reply.read()

    def close(self) -> None:
        self.conn.close()


def hostname(body: bytes, pool: str) -> str:
    return json.loads(body)[pool]["hostname"]


def load_python(port: int, connections: int, seconds: float, pools: list[str]) -> dict:
    """Checkout + return cycles from threads of this process, each on one keep-alive connection."""
    latencies: list[float] = []
    counts = {"requests": 0, "non_2xx": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run(index: int) -> None:
        client, mine, bad = Client(port), [], 0
        n = index
        while time.monotonic() < stop_at:
            pool = pools[n % len(pools)]
            n += connections
            started = time.perf_counter()
            status, body = client.call("POST", f"/api/v1/vm/{pool}")
            mine.append(time.perf_counter() - started)
            if status != 200:
                bad += 1
                continue
            vm = hostname(body, pool)
            started = time.perf_counter()
            status, _ = client.call("DELETE", f"/api/v1/vm/{vm}")
            mine.append(time.perf_counter() - started)
            bad += status != 200
        client.close()
        with lock:
            latencies.extend(mine)
            counts["requests"] += len(mine)
            counts["non_2xx"] += bad

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    summary = percentiles(latencies)
    return {"requests": counts["requests"], "seconds": round(wall, 2), "non_2xx": counts["non_2xx"],
            "requests_per_second": round(counts["requests"] / wall, 1), "latency": summary}


def load_wrk(port: int, connections: int, seconds: float, pools: int) -> dict:
    """Checkout + return cycles driven by wrk (one connection per wrk thread)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        out = subprocess.run(["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
                              "-s", script.name, f"http://127.0.0.1:{port}", str(pools)],
                             capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    found = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if not found:
        raise SystemExit(f"wrk gave no result: {out.stdout}{out.stderr}")
    raw = json.loads(found.group(1))
    return {"requests": raw["requests"], "seconds": raw["seconds"], "non_2xx": raw["non_2xx"],
            "socket_errors": raw["socket_errors"],
            "requests_per_second": round(raw["requests"] / raw["seconds"], 1),
            "latency": {key.replace("_us", "_ms"): round(raw[key] / 1000, 3)
                        for key in ("p50_us", "p90_us", "p99_us", "max_us")}}
