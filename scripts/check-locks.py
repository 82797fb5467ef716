#!/usr/bin/env python3
"""Fails if a lock is held across a system call that can block, or if a lock other than `Mutex` is used.

Run by scripts/test.sh before the build; `scripts/check-locks.py -v` lists every lock section it read.

How it checks (static, over Sources/**/*.swift):
1. Strings and comments are blanked, so braces and names in them do not count.
2. Every function definition is found, with its argument labels (`append(_:durable:)`), and the calls in its body.
   A function is *blocking* if its body calls a system call that can block (the list below) or, transitively, a
   function of this repository that is blocking, matched by name and labels (an over-approximation across types).
3. Every `withLock` closure is a lock section: it may call nothing blocking, directly or through the repository's
   functions. Calls inside a nested closure count too (it may run under the lock).
4. `NSLock`, `NSRecursiveLock`, `NSCondition`, `pthread_mutex_*` and `os_unfair_lock` are refused: one kind of lock.

A thread that owns a file (Store/WriterThread) is not a lock: waiting for it is waiting for the work itself.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Sources"

# C calls (no receiver) that can block: disk, sockets, processes, sleeping.
BLOCKING_C = {
    "fsync", "fdatasync", "sync_file_range", "write", "pwrite", "writev", "read", "pread", "readv", "send",
    "sendmsg", "sendto", "recv", "recvmsg", "recvfrom", "open", "openat", "close", "unlink", "unlinkat", "rename",
    "renameat", "mkdir", "rmdir", "stat", "lstat", "fstat", "fstatat", "access", "ftruncate", "fallocate",
    "poll", "select", "epoll_wait", "accept", "accept4", "connect", "usleep", "sleep", "nanosleep", "waitpid",
    "flock", "MHD_stop_daemon", "MHD_quiesce_daemon", "MHD_run", "mmap", "msync", "dup", "dup2", "opendir",
    "readdir", "fopen", "fclose", "fread", "fwrite", "posix_spawn", "kill",
}
# Swift and Foundation calls that can block (matched as text after the receiver).
BLOCKING_SWIFT = [
    r"\bThread\.sleep\b", r"\.sync\s*[({]", r"\.wait\s*\(", r"\bFileManager\.", r"contentsOfFile:",
    r"\b(?:Data|String)\s*\(\s*contentsOf:", r"\.write\s*\(\s*to:", r"\bcontents\s*\(\s*atPath:",
]
# Standard-library names a blocking function of this repository must not have: calls are matched by name and
# labels, and these are called under locks on collections all the time.
STANDARD_NAMES = {
    "append(_:)", "append(contentsOf:)", "contains(_:)", "contains(where:)", "remove(_:)", "removeAll()",
    "removeAll(where:)", "map(_:)", "compactMap(_:)", "filter(_:)", "insert(_:)", "removeValue(forKey:)",
    "first(where:)", "forEach(_:)", "reduce(_:_:)", "sorted(by:)", "prefix(_:)", "suffix(_:)", "index(of:)",
    "updateValue(_:forKey:)", "merge(_:uniquingKeysWith:)", "formUnion(_:)", "subtract(_:)", "count()",
}
REFUSED_LOCKS = [r"\bNSLock\b", r"\bNSRecursiveLock\b", r"\bNSCondition\b", r"\bpthread_mutex_\w+", r"\bos_unfair_lock"]
KEYWORDS = {"if", "guard", "while", "for", "switch", "return", "catch", "init", "func", "super", "self", "case", "in"}


def blank(text):
    """Strings and comments replaced by spaces (newlines kept), so positions stay the same."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif text[i] == '"' or (text[i] == "#" and re.match(r'#+"', text[i:])):
            hashes = len(re.match(r"#*", text[i:]).group(0))
            start = i
            i += hashes
            triple = text.startswith('"""', i)
            close = ('"""' if triple else '"') + "#" * hashes
            i += 3 if triple else 1
            while i < n and not text.startswith(close, i):
                i += 2 if (text[i] == "\\" and hashes == 0) else 1
            i = min(n, i + len(close))
            wipe(start + 1, i - 1)
        else:
            i += 1
    return "".join(out)


def match_brace(text, start, open_char="{", close_char="}"):
    depth = 0
    for k in range(start, len(text)):
        if text[k] == open_char:
            depth += 1
        elif text[k] == close_char:
            depth -= 1
            if depth == 0:
                return k
    return len(text) - 1


def split_top(text):
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def definition_key(name, params):
    labels = []
    for param in split_top(params):
        head = param.split(":")[0].split()
        head = [h for h in head if h not in ("inout", "borrowing", "consuming", "isolated", "sending")]
        labels.append((head[0] if head else "_") + ":")
    return name + "(" + "".join(labels) + ")"


def call_key(name, args):
    labels = []
    for arg in split_top(args):
        m = re.match(r"\s*(\w+)\s*:(?!:)", arg)
        labels.append((m.group(1) if m else "_") + ":")
    return name + "(" + "".join(labels) + ")"


def calls_in(body):
    """(key, receiver, offset) of each call `name(...)` in `body`, with argument labels; receiver is "" for an
    unqualified call, "self" for `self.name(`, else "other"."""
    found = []
    for m in re.finditer(r"(?<![\w#@])(\w+)\s*\(", body):
        name = m.group(1)
        before = body[:m.start()].rstrip()
        if before.endswith("."):
            ahead = before[:-1].rstrip()
            if not ahead or re.search(r"(?<![\w.])(case|return|in|try|await|throw|else|let|var)$", ahead):
                continue  # `.name(`: an enum case or a static member of the contextual type
            if re.search(r"(?<![\w.])self$", ahead):
                receiver = "self"
            elif re.search(r"(?<![\w.])(Glibc|Darwin|Musl)$", ahead):
                receiver = ""  # a C function named through its module
            elif ahead and (ahead[-1].isalnum() or ahead[-1] in "_)]?!"):
                receiver = "other"
            else:
                continue  # `.name(`: an enum case or a static member of the contextual type
        elif name in KEYWORDS or name[0].isupper():
            continue
        else:
            receiver = ""
        close = match_brace(body, m.end() - 1, "(", ")")
        found.append((call_key(name, body[m.end():close]), receiver, m.start()))
    return found


def type_ranges(text):
    """(name, start, end) of each type or extension body in `text`."""
    ranges = []
    for m in re.finditer(r"\b(?:class|struct|actor|enum|extension|protocol)\s+(\w+)[^{;\n]*\{", text):
        ranges.append((m.group(1), m.end() - 1, match_brace(text, m.end() - 1)))
    return ranges


def enclosing_type(ranges, offset):
    inner = [r for r in ranges if r[1] <= offset <= r[2]]
    return min(inner, key=lambda r: r[2] - r[1])[0] if inner else ""


class Index:
    """Every function of the sources, and which of them can block."""

    def __init__(self, files):
        self.functions = []  # (type, key, body, is_async)
        self.by_key = {}
        for text in files.values():
            ranges = type_ranges(text)
            for m in re.finditer(r"\bfunc\s+(\w+)\s*(?:<[^>{]*>)?\s*\(", text):
                close = match_brace(text, m.end() - 1, "(", ")")
                brace = text.find("{", close)
                signature = text[close:brace]
                if brace < 0 or "\n}" in signature or signature.count("\n") > 3 or "func " in signature:
                    continue  # a requirement without a body
                body = text[brace:match_brace(text, brace)]
                entry = (enclosing_type(ranges, m.start()), definition_key(m.group(1), text[m.end():close]), body,
                         re.search(r"\basync\b", signature) is not None)
                self.functions.append(entry)
                self.by_key.setdefault(entry[1], []).append(entry)
        self.why = {}
        for entry in self.functions:
            reasons = self.direct(entry[2])
            if reasons and not entry[3]:
                self.why[entry[:2]] = reasons[0]
        changed = True
        while changed:
            changed = False
            for entry in self.functions:
                if entry[:2] in self.why or entry[3]:
                    continue
                hit = self.blocking_calls(entry[2], entry[0], exclude=entry[:2])
                if hit:
                    self.why[entry[:2]] = hit[0]
                    changed = True

    def targets(self, key, receiver, in_type):
        """The definitions a call may reach: for an unqualified or `self.` call, the enclosing type's own when it
        has one."""
        candidates = self.by_key.get(key, [])
        if receiver in ("", "self"):
            own = [c for c in candidates if c[0] == in_type]
            if own:
                return own
        return candidates

    def is_c_call(self, key, receiver):
        return receiver == "" and key.split("(")[0] in BLOCKING_C and key not in self.by_key

    def direct(self, body):
        reasons = [k.split("(")[0] + "()" for k, r, _ in calls_in(body) if self.is_c_call(k, r)]
        for pattern in BLOCKING_SWIFT:
            reasons += [m.group(0).strip() for m in re.finditer(pattern, body)]
        return reasons

    def blocking_calls(self, body, in_type, exclude=None):
        reasons = []
        for key, receiver, _ in calls_in(body):
            for target in self.targets(key, receiver, in_type):
                if target[:2] in self.why and target[:2] != exclude:
                    reasons.append(f"{target[0]}.{key} -> {self.why[target[:2]]}")
                    break
        return reasons


def main():
    verbose = "-v" in sys.argv
    files = {path: blank(path.read_text()) for path in sorted(ROOT.rglob("*.swift"))}
    index = Index(files)
    failures = []
    for (type_name, key), reason in sorted(index.why.items()):
        if key in STANDARD_NAMES:
            failures.append(f"{type_name}.{key} can block ({reason}) but has a standard collection method's name")
    sections = 0
    for path, text in files.items():
        rel = path.relative_to(ROOT.parent)
        ranges = type_ranges(text)
        for pattern in REFUSED_LOCKS:
            for m in re.finditer(pattern, text):
                line = text.count("\n", 0, m.start()) + 1
                failures.append(f"{rel}:{line}: {m.group(0)}: use Mutex (one kind of lock)")
        for m in re.finditer(r"\bwithLock\b", text):
            brace = text.find("{", m.end())
            if brace < 0:
                continue
            section = text[brace:match_brace(text, brace)]
            sections += 1
            line = text.count("\n", 0, m.start()) + 1
            reasons = index.direct(section) + index.blocking_calls(section, enclosing_type(ranges, m.start()))
            if verbose:
                print(f"{rel}:{line}: lock section, {len(section.splitlines())} lines: " + ("; ".join(reasons) or "ok"))
            for reason in reasons:
                failures.append(f"{rel}:{line}: a lock is held across {reason}")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"check-locks: {sections} lock sections, {len(index.why)} functions that can block, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
