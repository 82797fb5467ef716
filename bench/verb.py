#!/usr/bin/env python3
"""Verb until its event: QMP direct against jobgate, side by side in one run.

QMP direct: a QEMU of its own (qemu-system-<arch> -machine none), a mirror between null-co nodes in `ready`;
`job-pause` / `job-resume` sent on the QMP socket, timed until its JOB_STATUS_CHANGE (standby / ready) is read there.
fdatasync: a line written in place and fdatasync'd in jobgate's data dir, as its journal does, timed the same way
(QMP's round trip plus this is the floor for a status change that is on disk before it is sent).
jobgate: the same mirror on jobgate's engine; `POST /jobs/m/pause` / `resume` sent over HTTP (keep-alive), timed
until the JOB_STATUS_CHANGE arrives on an open `GET /events` stream. Both clients are the same loop of raw
sockets and select(), and the two sides alternate in small blocks so that machine noise hits both alike.

Usage: verb.py JOBGATE_BINARY QEMU_BINARY WORK_DIR PORT [VERBS]   (prints a JSON line)
"""
import json, os, select, socket, subprocess, sys, time

def wait_for(path, timeout=20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %s" % path)
        time.sleep(0.01)

class Lines:
    """Reads a socket line by line, without blocking once data is there."""
    def __init__(self, sock):
        self.sock, self.buffer = sock, b""
    def lines(self):
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit("connection closed")
        self.buffer += data
        *complete, self.buffer = self.buffer.split(b"\n")
        return complete

class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.reader = Lines(self.sock)
        self.pending = []
        self.read_until(lambda m: "QMP" in m)
        self.command("qmp_capabilities")
    def read_until(self, predicate):
        while True:
            while self.pending:
                message = json.loads(self.pending.pop(0))
                if predicate(message):
                    return message
            select.select([self.sock], [], [])
            self.pending += [line for line in self.reader.lines() if line.strip()]
    def send(self, name, arguments=None):
        message = {"execute": name}
        if arguments is not None:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
    def command(self, name, arguments=None):
        self.send(name, arguments)
        reply = self.read_until(lambda m: "return" in m or "error" in m)
        if "error" in reply:
            raise SystemExit("%s: %s" % (name, reply["error"]))
        return reply["return"]
    def verb(self, name, status):
        """Sends job-<name> and returns the seconds until JOB_STATUS_CHANGE(status) arrives."""
        start = time.perf_counter()
        self.send("job-" + name, {"id": "m"})
        self.read_until(lambda m: m.get("event") == "JOB_STATUS_CHANGE" and m["data"]["status"] == status)
        return time.perf_counter() - start

class Jobgate:
    def __init__(self, port):
        self.port = port
        self.http = socket.create_connection(("127.0.0.1", port))
        self.http.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.events = socket.create_connection(("127.0.0.1", port))
        self.events.sendall(b"GET /events?job=m&event=JOB_STATUS_CHANGE HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.stream = Lines(self.events)
        self.http_buffer = b""
    def request(self, method, path, body=b""):
        self.http.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: %d\r\n\r\n" % (method, path, len(body))).encode() + body)
    def read_response(self):
        while b"\r\n\r\n" not in self.http_buffer:
            self.http_buffer += self.http.recv(65536)
        head, rest = self.http_buffer.split(b"\r\n\r\n", 1)
        length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += self.http.recv(65536)
        self.http_buffer = rest[length:]
        return int(head.split(b" ")[1]), rest[:length]
    def call(self, method, path, body=b""):
        self.request(method, path, body)
        return self.read_response()
    def verb(self, name, status):
        """POST /jobs/m/<name>; the seconds until JOB_STATUS_CHANGE(status) arrives on the event stream."""
        start = time.perf_counter()
        self.request("POST", "/jobs/m/" + name)
        answered = arrived = False
        elapsed = None
        while not (answered and arrived):
            readable, _, _ = select.select([self.http, self.events], [], [])
            if self.events in readable:
                for line in self.stream.lines():
                    if line.startswith(b"data: ") and json.loads(line[6:]).get("status") == status:
                        elapsed, arrived = time.perf_counter() - start, True
            if self.http in readable and not answered:
                code, body = self.read_response()
                if code != 202:
                    raise SystemExit("%s: %d %s" % (name, code, body))
                answered = True
        return elapsed

class Fdatasync:
    """One 300-byte line written in place into zeros and fdatasync'd, as jobgate's journal does: the floor."""
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(self.fd, b"\0" * (4 << 20))
        os.fsync(self.fd)
        self.offset = 0
    def verb(self, name, status):
        start = time.perf_counter()
        os.pwrite(self.fd, b"x" * 299 + b"\n", self.offset)
        os.fdatasync(self.fd)
        self.offset += 300
        return time.perf_counter() - start

def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]

def main():
    binary, qemu, work, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    verbs = int(sys.argv[5]) if len(sys.argv) > 5 else 400
    # QMP direct.
    socket_path = os.path.join(work, "direct.sock")
    direct = subprocess.Popen([qemu, "-machine", "none", "-nodefaults", "-display", "none",
                               "-qmp", "unix:%s,server=on,wait=off" % socket_path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir, mode=0o700)
    log = open(os.path.join(work, "jobgate.log"), "w")
    gate = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", data_dir,
                             "--stop-engine-on-exit", "--log-level", "warning"], stdout=log, stderr=log)
    try:
        wait_for(socket_path)
        qmp = QMP(socket_path)
        for node in ("s", "t"):
            qmp.command("blockdev-add", {"node-name": node, "driver": "null-co", "size": 1 << 30})
        qmp.command("blockdev-mirror", {"job-id": "m", "device": "s", "target": "t", "sync": "full"})
        qmp.read_until(lambda m: m.get("event") == "JOB_STATUS_CHANGE" and m["data"]["status"] == "ready")

        deadline = time.monotonic() + 60
        while True:
            try:
                if Jobgate(port).call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("jobgate never became ready")
            time.sleep(0.05)
        setup = Jobgate(port)
        for node in ("s", "t"):
            code, body = setup.call("POST", "/nodes", json.dumps(
                {"node-name": node, "driver": "null-co", "size": 1 << 30}).encode())
            assert code == 201, body
        code, body = setup.call("POST", "/jobs", json.dumps(
            {"type": "mirror", "id": "m", "device": "s", "target": "t", "sync": "full"}).encode())
        assert code == 201, body
        while json.loads(setup.call("GET", "/jobs/m?stats=false")[1])["status"] != "ready":
            time.sleep(0.01)
        jobgate = Jobgate(port)
        time.sleep(0.2)

        results = {"qmp": [], "jobgate": [], "fdatasync": []}
        sides = {"qmp": qmp, "jobgate": jobgate, "fdatasync": Fdatasync(os.path.join(data_dir, "floor.test"))}
        block = 10
        for block_index in range(verbs // (2 * block)):
            for name in (("qmp", "jobgate", "fdatasync") if block_index % 2 == 0 else ("jobgate", "qmp", "fdatasync")):
                for i in range(block):
                    verb, status = ("pause", "standby") if i % 2 == 0 else ("resume", "ready")
                    results[name].append(sides[name].verb(verb, status))
                    time.sleep(0.005)
        summary = {}
        for name, values in results.items():
            summary[name] = {"verbs": len(values), "p50_ms": round(percentile(values, 0.5) * 1000, 3),
                             "p99_ms": round(percentile(values, 0.99) * 1000, 3)}
        summary["ratio_p50"] = round(summary["jobgate"]["p50_ms"] / summary["qmp"]["p50_ms"], 2)
        summary["ratio_p99"] = round(summary["jobgate"]["p99_ms"] / summary["qmp"]["p99_ms"], 2)
        # The floor: QMP's round trip plus the one fdatasync a durable status change needs, as a ratio to QMP.
        summary["floor_ratio_p50"] = round(
            (summary["qmp"]["p50_ms"] + summary["fdatasync"]["p50_ms"]) / summary["qmp"]["p50_ms"], 2)
        print(json.dumps(summary))
    finally:
        gate.terminate()
        gate.wait(timeout=30)
        direct.kill()

if __name__ == "__main__":
    main()
