"""Adds a run's text to bench/RESULTS.md at the end of its section, whatever order the benchmarks run in.

    python3 bench/results.py "## Section heading" [INTRO] < TEXT

The section is the one whose heading line starts with the given heading; TEXT goes after its last line, before
the next "## " heading. A missing section is made at the end of the file, with INTRO under its heading."""
import sys

PATH = "bench/RESULTS.md"
heading, intro = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
text = sys.stdin.read().strip("\n")
lines = open(PATH, encoding="utf-8").read().rstrip("\n").split("\n")
start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
if start is None:
    lines += ["", heading, ""] + ([intro, ""] if intro else [])
    start = len(lines) - 1
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
while end > start + 1 and lines[end - 1] == "":
    end -= 1
lines[end:end] = ["", text]
open(PATH, "w", encoding="utf-8").write("\n".join(lines) + "\n")
