#!/usr/bin/env python3
"""Measures one jobgate: start to /readyz, list-page latency, and bytes written per status change.

Usage: measure.py BINARY DATA_DIR PORT   (prints one JSON line)
"""
import http.client, json, os, signal, subprocess, sys, time

def request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    return response.status, response.read()

def wchar(pid):
    with open("/proc/%d/io" % pid) as f:
        return int(next(line for line in f if line.startswith("wchar:")).split()[1])

def main():
    binary, data_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = open(os.path.join(data_dir, "jobgate.out"), "w")
    start = time.monotonic()
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", data_dir,
                             "--retain-count", "unlimited", "--retain-age", "forever", "--stop-engine-on-exit",
                             "--log-level", "warning"], stdout=log, stderr=log)
    ready = None
    while time.monotonic() - start < 120:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if request(conn, "GET", "/readyz")[0] == 200:
                ready = time.monotonic() - start
                break
        except OSError:
            pass
        time.sleep(0.005)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    cursor = None
    for i in range(2000):
        path = "/jobs?limit=100" + ("&cursor=" + cursor if cursor else "")
        t = time.perf_counter()
        status, body = request(conn, "GET", path)
        latencies.append((time.perf_counter() - t) * 1000)
        cursor = json.loads(body).get("next-cursor") if i % 50 else None
    latencies.sort()
    # Status changes: backups between null-co nodes, each seen through created..null (6 statuses, 5 changes after
    # the first), written with their record file each time.
    request(conn, "POST", "/nodes", json.dumps({"node-name": "s", "driver": "null-co", "size": 1048576}))
    request(conn, "POST", "/nodes", json.dumps({"node-name": "t", "driver": "null-co", "size": 1048576}))
    jobs = 20
    before = wchar(proc.pid)
    for i in range(jobs):
        request(conn, "POST", "/jobs", json.dumps({"type": "backup", "id": "w%d" % i, "device": "s", "target": "t",
                                                    "sync": "full"}))
        while json.loads(request(conn, "GET", "/jobs/w%d?stats=false" % i)[1]).get("status") != "null":
            time.sleep(0.002)
    time.sleep(1.5)  # let coalesced progress writes land
    written = wchar(proc.pid) - before
    changes = sum(len(json.loads(request(conn, "GET", "/jobs/w%d?stats=false" % i)[1])["status-history"])
                  for i in range(jobs))
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    print(json.dumps({"ready_seconds": round(ready, 3) if ready else None,
                      "list_p50_ms": round(latencies[len(latencies) // 2], 3),
                      "list_p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
                      "bytes_per_status_change": round(written / changes)}))

if __name__ == "__main__":
    main()
