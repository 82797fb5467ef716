#!/usr/bin/env python3
"""Writes N finished job records into <data-dir>/records in jobgate's snapshot format (schema version 1)."""
import json, os, sys

def main():
    data_dir, count = sys.argv[1], int(sys.argv[2])
    records = os.path.join(data_dir, "records")
    os.makedirs(records, exist_ok=True)
    base = 1_795_000_000
    for i in range(count):
        t = base + i
        def at(s): return "%sZ" % __import__("datetime").datetime.utcfromtimestamp(s).strftime("%Y-%m-%dT%H:%M:%S.%f")
        record = {
            "id": "bench-%06d" % i, "run": 1, "type": "backup", "status": "null",
            "current-progress": 67108864, "total-progress": 67108864,
            "allowed-verbs": [], "speed": 0, "busy": False, "paused": False, "ready": False, "io-status": "ok",
            "auto-finalize": True, "auto-dismiss": True,
            "request": {"type": "backup", "id": "bench-%06d" % i, "device": "src", "target": "dst", "sync": "full"},
            "status-history": [{"status": s, "at": at(t + k * 0.001)} for k, s in
                               enumerate(["created", "running", "waiting", "pending", "concluded", "null"])],
            "created-at": at(t), "updated-at": at(t + 0.005),
            "stats": {"duration-seconds": 0.004, "bytes-done": 67108864, "average-rate": 1.6e10,
                      "recent-rate": None, "eta-seconds": None, "outcome": "completed"},
        }
        with open(os.path.join(records, "bench-%06d~1.json" % i), "w") as f:
            json.dump({"version": 1, "record": record}, f, separators=(",", ":"), sort_keys=True)

if __name__ == "__main__":
    main()
