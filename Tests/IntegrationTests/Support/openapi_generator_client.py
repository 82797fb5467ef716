#!/usr/bin/env python3
"""Lists and controls jobs through the Python client OpenAPI Generator made from openapi/openapi.yaml.

    openapi_generator_client.py BASE_URL

Expects job `done` (a concluded backup) and job `slow` (a throttled backup, running). Lists the jobs in full and
summary views, reads both records, pauses and resumes `slow` (verbs without a body), lifts its throttle, and
dismisses `done`. Prints "ok" at the end; any unexpected answer raises (the client validates every answer against
the spec's models with pydantic).
"""
import sys
import time

import jobgate_og
from jobgate_og.api.jobs_api import JobsApi
from jobgate_og.api.verbs_api import VerbsApi

client = jobgate_og.ApiClient(jobgate_og.Configuration(host=sys.argv[1]))
jobs = JobsApi(client)
verbs = VerbsApi(client)

full = jobs.list_jobs()
assert sorted(item.id for item in full.jobs) == ["done", "slow"], full
assert all(item.status_history and item.stats for item in full.jobs), full
assert full.event_cursor, full
summary = jobs.list_jobs(view="summary", limit=1)
assert len(summary.jobs) == 1 and summary.next_cursor, summary
rest = jobs.list_jobs(view="summary", cursor=summary.next_cursor)
assert [item.id for item in summary.jobs + rest.jobs] == [item.id for item in full.jobs], (summary, rest)

done = jobs.get_job("done")
assert str(done.status.value) == "concluded" and done.stats.outcome == "completed", done
assert "dismiss" in [verb.value for verb in done.allowed_verbs], done

assert verbs.pause_job("slow").id == "slow"
deadline = time.time() + 30
while str(jobs.get_job("slow").status.value) != "paused":
    assert time.time() < deadline, jobs.get_job("slow")
    time.sleep(0.05)
verbs.resume_job("slow")
verbs.set_job_speed("slow", jobgate_og.SetJobSpeedRequest(speed=0))
verbs.dismiss_job("done")
assert str(jobs.get_job("done").status.value) == "null"
print("ok")
