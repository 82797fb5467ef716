"""Schemathesis hooks for jobgate's spec (loaded through SCHEMATHESIS_HOOKS by SchemathesisTests).

openapi/openapi.yaml names two string formats of its own. Schemathesis cannot derive valid values for them from
the patterns alone (it generates header values from letters and digits only, and a cursor's pattern admits
strings that decode to no position), so it learns them here:

- `jobgate-event-id`: an event id, `<epoch>-<sequence>`, two decimal numbers below 2^64. Any such id is valid;
  one jobgate never handed out gets a `resync` event on the stream.
- `jobgate-cursor`: a `next-cursor` of `GET /jobs`. It is opaque to clients; the test knows its encoding
  (base64url without padding of `<bit pattern of the creation time>|<run>|<id>`, Gateway/Routes/JobListQuery)
  so that generated cursors are positions in the listing rather than strings any check would refuse.
"""
import base64

import schemathesis
from hypothesis import strategies as st

schemathesis.openapi.format(
    "jobgate-event-id",
    st.builds("{}-{}".format, st.integers(0, 2**63), st.integers(0, 2**63)),
)


def _cursor(bits, run, job_id):
    text = f"{bits}|{run}|{job_id}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


schemathesis.openapi.format(
    "jobgate-cursor",
    st.builds(
        _cursor,
        st.integers(0, 2**64 - 1),
        st.integers(1, 2**31),
        st.from_regex(r"\A[A-Za-z][A-Za-z0-9._-]{0,20}\Z"),
    ),
)
