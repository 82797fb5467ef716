#!/usr/bin/env python3
"""Drives a backup through a client that openapi-python-client generated from openapi/openapi.yaml.

    generated_client_backup.py BASE_URL

Expects src.qcow2 and dst.qcow2 in the image root. Attaches them, starts a throttled backup, pauses and resumes it
(verbs without a body), lifts the throttle, waits for the job to end, lists jobs, detaches the nodes. Prints
"ok" at the end; any unexpected answer raises.
"""
import sys
import time

from jobgate_client import Client
from jobgate_client.api.jobs import create_job, get_job, list_jobs
from jobgate_client.api.nodes import add_node, delete_node
from jobgate_client.api.verbs import pause_job, resume_job, set_job_speed
from jobgate_client.models import AddNodeBody, BackupRequest, BackupRequestSync, SetJobSpeedBody

client = Client(base_url=sys.argv[1], raise_on_unexpected_status=True)


def expect(response, status):
    if response.status_code != status:
        raise SystemExit(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


for name in ("src", "dst"):
    body = AddNodeBody.from_dict(
        {"node-name": name, "driver": "qcow2", "file": {"driver": "file", "filename": f"{name}.qcow2"}})
    expect(add_node.sync_detailed(client=client, body=body), 201)

backup = BackupRequest(type_="backup", id="g0", device="src", target="dst", sync=BackupRequestSync.FULL, speed=65536)
record = expect(create_job.sync_detailed(client=client, body=backup), 201)
assert record.id == "g0", record

expect(pause_job.sync_detailed("g0", client=client), 202)
expect(resume_job.sync_detailed("g0", client=client), 202)
expect(set_job_speed.sync_detailed("g0", client=client, body=SetJobSpeedBody(speed=0)), 202)

deadline = time.time() + 60
while True:
    record = expect(get_job.sync_detailed("g0", client=client), 200)
    if str(record.status) == "null":
        break
    if time.time() > deadline:
        raise SystemExit(f"the backup did not end: {record.to_dict()}")
    time.sleep(0.1)
statuses = [str(entry.status) for entry in record.status_history]
assert statuses[0] == "created" and statuses[-1] == "null" and "paused" in statuses, statuses

listing = expect(list_jobs.sync_detailed(client=client), 200)
assert [item.id for item in listing.jobs] == ["g0"], listing.to_dict()

for name in ("src", "dst"):
    expect(delete_node.sync_detailed(name, client=client), 204)
print("ok")
