#!/usr/bin/env bash
# Verb until its event, QMP direct against jobgate in one run (bench/verb.py): p50 and p99 of `job-pause` /
# `job-resume` on a ready mirror until JOB_STATUS_CHANGE arrives, on the QMP socket and through jobgate
# (POST /jobs/m/<verb> until the event on GET /events). Appends the figures, with the date and the machine, to
# bench/RESULTS.md.
#
#   bench/verb.sh [VERBS]     (default 400 per side)
source "$(dirname "$0")/setup.sh" verb
qemu="$(command -v "qemu-system-$(uname -m)")"
machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(. /etc/os-release; echo "$PRETTY_NAME"), data dir on $(df -T "$work" | awk 'NR == 2 {print $2}')"
result="$(python3 bench/verb.py "$binary" "$qemu" "$work" 18195 "${1:-400}")"
echo "$result"
python3 - "$result" "$machine" "$(git rev-parse --short HEAD)" <<'PY' | python3 bench/results.py '## Verb until its event'
# The run's table, for the end of the "Verb until its event" section of bench/RESULTS.md.
import datetime, json, sys
r, machine, commit = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
rows = [
    "### %s, %s, jobgate %s (bench/verb.sh)" % (when, machine, commit), "",
    "| path | verbs | p50 ms | p99 ms |", "| --- | --- | --- | --- |",
    "| QMP direct (`job-pause`/`job-resume` until JOB_STATUS_CHANGE on QMP) | %d | %.3f | %.3f |" % (r["qmp"]["verbs"], r["qmp"]["p50_ms"], r["qmp"]["p99_ms"]),
    "| jobgate (`POST /jobs/m/pause`/`resume` until JOB_STATUS_CHANGE on `/events`) | %d | %.3f | %.3f |" % (r["jobgate"]["verbs"], r["jobgate"]["p50_ms"], r["jobgate"]["p99_ms"]),
    "| one 300-byte write + fdatasync in the data dir, in place (the journal's cost) | %d | %.3f | %.3f |" % (r["fdatasync"]["verbs"], r["fdatasync"]["p50_ms"], r["fdatasync"]["p99_ms"]),
    "| ratio jobgate / QMP | | %.2f | %.2f |" % (r["ratio_p50"], r["ratio_p99"]),
    "| floor ratio (QMP + fdatasync) / QMP | | %.2f | |" % r["floor_ratio_p50"], "", ""]
print("\n".join(rows))
PY
