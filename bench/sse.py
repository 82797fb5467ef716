#!/usr/bin/env python3
"""Event-stream benchmark: N subscribers on GET /events while jobs run; delivery latency, completeness, and
jobgate's CPU and memory.

Usage: sse.py BINARY DATA_DIR PORT [SUBSCRIBERS] [JOBS] [SECONDS]   (prints a JSON line)

Latency of one delivery = the subscriber's clock when the event's bytes arrive minus the event's `timestamp`
(same host, same clock). For JOB_PROGRESS that timestamp is jobgate's sampling moment, so it measures jobgate's
fan-out and the kernel; for QEMU's events it is QEMU's event time, so it also includes QMP, the record write and
the journal fsync that precede sending. The client is one epoll loop in this process, sharing the machine's
cores with jobgate and QEMU: the subscribers are split over SSE_CLIENT_PROCESSES (default 2) epoll loops, which
read with HTTP/1.0 (no chunked framing) to keep their own cost low.
"""
import datetime, http.client, json, multiprocessing, os, selectors, signal, socket, subprocess, sys, time

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

def percentile(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] if values else None

def subscribe(port, count, jobs, seconds, connected, results):
    """One client process: `count` subscribers on one epoll loop, until each has seen every job end."""
    selector = selectors.DefaultSelector()
    buffers, counts = {}, {}
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /events HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n")
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        buffers[s] = b""
        counts[s] = 0
    connected.put(True)
    latencies = {"JOB_PROGRESS": [], "other": []}
    parsed = {}  # the same event reaches every subscriber: parse its timestamp once
    arrivals = {}  # per event (by timestamp): the first and the last arrival among this process's subscribers
    finished = 0
    end = None
    give_up = time.monotonic() + seconds * 4 + 60
    while (end is None or time.monotonic() < end) and time.monotonic() < give_up:
        for key, _ in selector.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(262144)
            except BlockingIOError:
                continue
            now = time.time()
            if not data:
                selector.unregister(s)
                continue
            *events, buffers[s] = (buffers[s] + data).split(b"\n\n")
            for event in events:
                start = event.find(b'"timestamp":"')
                if start < 0:
                    continue
                counts[s] += 1
                stamp = event[start + 13:event.index(b'"', start + 13)]
                at = parsed.get(stamp)
                if at is None:
                    at = datetime.datetime.fromisoformat(stamp.decode().replace("Z", "+00:00")).timestamp()
                    parsed[stamp] = at
                latencies["JOB_PROGRESS" if b"event: JOB_PROGRESS" in event else "other"].append((now - at) * 1000)
                spread = arrivals.get(stamp)
                arrivals[stamp] = (now, now) if spread is None else (min(spread[0], now), max(spread[1], now))
                if b'"status":"null"' in event:
                    finished += 1
        if end is None and finished >= jobs * count:
            end = time.monotonic() + 1
    results.put({"latencies": latencies, "counts": list(counts.values()), "complete": finished >= jobs * count,
                 "arrivals": {stamp.decode(): [first - parsed[stamp], last - parsed[stamp]]
                              for stamp, (first, last) in arrivals.items()}})

def main():
    binary, data_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    subscribers = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    jobs = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    seconds = int(sys.argv[6]) if len(sys.argv) > 6 else 15
    log = open(os.path.join(data_dir, "jobgate.out"), "w")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", data_dir,
                             "--stop-engine-on-exit", "--max-connections", str(subscribers + 200),
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
        # The subscribers, split over `workers` processes so that the client's own parsing is not the bottleneck.
        workers = max(1, min(int(os.environ.get("SSE_CLIENT_PROCESSES", "2")), subscribers))
        results = multiprocessing.Queue()
        connected = multiprocessing.Queue()
        shares = [subscribers // workers + (1 if i < subscribers % workers else 0) for i in range(workers)]
        processes = [multiprocessing.Process(target=subscribe, args=(port, share, jobs, seconds, connected, results))
                     for share in shares]
        for process in processes:
            process.start()
        for _ in processes:
            connected.get(timeout=120)
        while json.loads(request(port, "GET", "/healthz")[1]).get("event-streams", 0) < subscribers:
            time.sleep(0.1)
        # Jobs between null-co nodes, throttled so that they run about `seconds` seconds.
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
        latencies = {"JOB_PROGRESS": [], "other": []}
        counts = []
        arrivals = {}
        complete = True
        for _ in processes:
            part = results.get(timeout=seconds * 4 + 120)
            for kind in latencies:
                latencies[kind] += part["latencies"][kind]
            counts += part["counts"]
            for stamp, (first, last) in part["arrivals"].items():
                known = arrivals.get(stamp)
                arrivals[stamp] = (first, last) if known is None else (min(known[0], first), max(known[1], last))
            complete = complete and part["complete"]
        for process in processes:
            process.join()
        wall = time.monotonic() - wall_before
        cpu = (ticks(proc.pid) - cpu_before) / os.sysconf("SC_CLK_TCK")
        result = {"subscribers": subscribers, "client_processes": workers, "jobs": jobs, "seconds": round(wall, 1),
                  "all_jobs_seen_ending_by_all": complete,
                  "events_per_subscriber": [min(counts), max(counts)], "deliveries": sum(counts)}
        for kind, values in latencies.items():
            values.sort()
            result[kind] = {"p50_ms": round(percentile(values, 0.5), 1), "p99_ms": round(percentile(values, 0.99), 1),
                            "max_ms": round(values[-1], 1), "count": len(values)}
        everything = sorted(latencies["JOB_PROGRESS"] + latencies["other"])
        result["all"] = {"p50_ms": round(percentile(everything, 0.5), 1),
                         "p99_ms": round(percentile(everything, 0.99), 1)}
        # Per event: when its first subscriber had it (the pipeline before the fan-out), and how long the last one
        # took after that (the fan-out to every subscriber, and the client's own reading).
        firsts = sorted(first * 1000 for first, _ in arrivals.values())
        spreads = sorted((last - first) * 1000 for first, last in arrivals.values())
        result["first_subscriber"] = {"p50_ms": round(percentile(firsts, 0.5), 1),
                                      "p99_ms": round(percentile(firsts, 0.99), 1)}
        result["first_to_last_subscriber"] = {"p50_ms": round(percentile(spreads, 0.5), 1),
                                              "p99_ms": round(percentile(spreads, 0.99), 1)}
        result["jobgate_cpu_percent_of_one_core"] = round(100 * cpu / wall, 1)
        result["jobgate_memory_mib"] = memory(proc.pid)
        print(json.dumps(result))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

if __name__ == "__main__":
    main()
