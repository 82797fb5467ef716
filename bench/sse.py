#!/usr/bin/env python3
"""Event-stream benchmark: N subscribers on GET /events while jobs run; delivery latency, completeness, and
jobgate's CPU and memory.

Usage: sse.py BINARY CLIENT DATA_DIR PORT [SUBSCRIBERS] [JOBS] [SECONDS]   (prints a JSON line)

CLIENT is bench/sse_client.c compiled: the subscribers, on one epoll loop in C, so that the client is not what
gets measured. Latency of one delivery = the subscriber's clock when the event arrives minus the event's
`timestamp` (same host, same clock). For JOB_PROGRESS that timestamp is the moment jobgate sampled the progress
and sent the event, so it measures the delivery itself: the fan-out to every subscriber through libmicrohttpd and
the kernel. For QEMU's events it is QEMU's event time, so it also includes QMP and the record write and journal
fsync that come before sending (a status change is on disk before anyone hears of it).
"""
import http.client, json, os, signal, subprocess, sys, time

def ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

def memory(pid):
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) // 1024
    return values

def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    return response.status, response.read()

def main():
    binary, client, data_dir, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    subscribers = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    jobs = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    seconds = int(sys.argv[7]) if len(sys.argv) > 7 else 15
    log = open(os.path.join(data_dir, "jobgate.out"), "w")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", data_dir,
                             "--stop-engine-on-exit", "--max-connections", str(subscribers + 200),
                             "--max-connections-per-address", str(subscribers + 200),
                             "--log-level", "warning"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(port, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        readers = subprocess.Popen([client, str(port), str(subscribers), str(jobs), str(seconds * 4 + 60)],
                                   stdout=subprocess.PIPE, text=True)
        assert readers.stdout.readline().strip() == "connected"
        while json.loads(request(port, "GET", "/healthz")[1]).get("event-streams", 0) < subscribers:
            time.sleep(0.1)
        # Backups between null-co nodes, each to its own target, throttled to run about `seconds` seconds.
        size = 1 << 30
        for name in ["s"] + ["t%d" % i for i in range(jobs)]:
            status, body = request(port, "POST", "/nodes",
                                   json.dumps({"node-name": name, "driver": "null-co", "size": size}))
            assert status == 201, body
        cpu_before, wall_before = ticks(proc.pid), time.monotonic()
        for i in range(jobs):
            status, body = request(port, "POST", "/jobs", json.dumps({
                "type": "backup", "id": "sse%d" % i, "device": "s", "target": "t%d" % i, "sync": "full",
                "speed": size // seconds}))
            assert status == 201, body
        measured = json.loads(readers.stdout.readline())
        readers.wait()
        wall = time.monotonic() - wall_before
        cpu = (ticks(proc.pid) - cpu_before) / os.sysconf("SC_CLK_TCK")
        result = {"subscribers": subscribers, "jobs": jobs, "seconds": round(wall, 1)}
        result.update(measured)
        result["jobgate_cpu_percent_of_one_core"] = round(100 * cpu / wall, 1)
        result["jobgate_memory_mib"] = memory(proc.pid)
        print(json.dumps(result))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

if __name__ == "__main__":
    main()
