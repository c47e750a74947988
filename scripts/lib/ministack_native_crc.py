"""Starts MiniStack with native CRC checksums.

MiniStack computes S3's CRC64NVME and CRC32C in pure Python, a byte at a time (about 5 MB/s):
every part of a multipart upload created with CRC64NVME costs a second per 5 MiB there, which
AWS does for free. awscrt's C implementations give the same values (the caller checks that
before swapping them in) a thousand times faster. Nothing else changes.
"""
import sys

from awscrt import checksums
from ministack.services import s3

CHECK = b"123456789"
if s3._crc64nvme(CHECK) != checksums.crc64nvme(CHECK) or s3._crc32c(CHECK) != checksums.crc32c(CHECK):
    raise SystemExit("awscrt's CRCs differ from MiniStack's; not swapping them")
s3._crc64nvme = lambda body: checksums.crc64nvme(body)
s3._crc32c = lambda body: checksums.crc32c(body)

from ministack.app import main  # noqa: E402

sys.exit(main())
