#!/usr/bin/env bash
# jobgate's persistence benchmark: start to /readyz with 100,000 finished records on disk, list-page latency, and
# bytes written per status change with 0 and with 100,000 records present (the ratio should be ~1).
#
#   bench/run.sh [RECORDS]      (default 100000; results go to stdout; copy them into bench/RESULTS.md)
source "$(dirname "$0")/setup.sh" bench
records="${1:-100000}"
mkdir -p "$work/empty" "$work/full"
python3 bench/make_records.py "$work/full" "$records"
sync  # measure a start with the records at rest, not competing with their own write-back
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "date: $(date -u +%Y-%m-%d)"
echo "empty: $(python3 bench/measure.py "$binary" "$work/empty" 18181)"
# The generated records are files of their own, the layout of a jobgate before the archive. A first start serves
# them from the files and moves them into the archive meanwhile; the measured start then reads the archive.
start=$(date +%s.%N)
"$binary" --listen 127.0.0.1:18182 --data-dir "$work/full" --retain-count unlimited --retain-age forever \
    --stop-engine-on-exit --log-level warning >"$work/first.log" 2>&1 &
first=$!
until curl -sf -o /dev/null http://127.0.0.1:18182/readyz; do sleep 0.005; done
ready=$(date +%s.%N)
until [ -z "$(find "$work/full/records" -maxdepth 1 -name '*.json' -print -quit)" ]; do sleep 0.1; done
archived=$(date +%s.%N)
kill -TERM "$first"; wait "$first"
awk -v s="$start" -v r="$ready" -v a="$archived" -v n="$records" \
    'BEGIN { printf "with %d records as files (first start): ready after %.3f s, all archived after %.1f s\n", n, r - s, a - s }'
sync
echo "with $records records: $(python3 bench/measure.py "$binary" "$work/full" 18183)"
