#!/usr/bin/env python3
"""A FUSE file system that stops answering, for tests: a stalled NFS or FUSE mount in an image root.

    stallfs.py MOUNTPOINT

The root holds `ok.img` (1 MiB of zeros) and `stall.img`, whose every lookup blocks until the file system is
unmounted, as a hung server's would. Runs in the foreground, multithreaded, until killed.
"""
import errno
import stat
import sys
import threading
import time

try:
    from fusepy import FUSE, FuseOSError, Operations  # Debian's python3-fusepy
except ImportError:
    from fuse import FUSE, FuseOSError, Operations

SIZE = 1 << 20


class StallFS(Operations):
    def __init__(self):
        self.stop = threading.Event()
        self.now = time.time()

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_atime=self.now, st_mtime=self.now,
                        st_ctime=self.now)
        if path == "/stall.img":
            self.stop.wait()  # never set: blocks until the mount goes away
        if path in ("/ok.img", "/stall.img"):
            return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=SIZE, st_atime=self.now,
                        st_mtime=self.now, st_ctime=self.now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "ok.img", "stall.img"]

    def open(self, path, flags):
        return 0

    def read(self, path, size, offset, fh):
        return bytes(max(0, min(size, SIZE - offset)))


if __name__ == "__main__":
    FUSE(StallFS(), sys.argv[1], foreground=True, nothreads=False, allow_other=False)
