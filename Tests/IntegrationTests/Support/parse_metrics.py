"""Parses the Prometheus text in the file named by its argument with Prometheus's own parser (prometheus_client) and prints each sample as
one JSON object: {"name{label=value,...}": value}, labels sorted. A text the parser refuses exits 1 with why."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
try:
    for family in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
        for sample in family.samples:
            labels = ",".join(f"{key}={value}" for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
except Exception as error:  # the parser's refusal is the test's failure
    print(f"not Prometheus text: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(samples))
