"""Zip archives (.xlsx, .docx, .odt, .ods) read without letting one exhaust the server's memory.

A zip of a few kilobytes can inflate to gigabytes (a "zip bomb"). Before anything inflates a
member, the archive's declared sizes and their compression ratios are checked, and a member
is read only up to a limit: Python's zipfile never inflates a member past the size its header
declares, so a header that lies makes the read stop early (and fail its checksum), not grow.
"""

import zipfile

from django.conf import settings


class UnsafeArchive(Exception):
    """The archive is refused; `message` says why, for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check(archive: zipfile.ZipFile) -> None:
    """Refuse an archive whose members inflate to an absurd size, or compress absurdly well
    (text and spreadsheets compress 5 to 20 times; a file of zeros, a thousand times)."""
    most = settings.QIPP_ARCHIVE_MAX_BYTES
    ratio = settings.QIPP_ARCHIVE_MAX_RATIO
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if total > most:
            raise UnsafeArchive(
                f"The file unpacks to more than {most // (1024 * 1024)} MB: it cannot be read."
            )
        # small members compress how they like; a big one this well is a bomb
        if member.file_size > 1024 * 1024 and member.file_size > ratio * member.compress_size:
            raise UnsafeArchive(
                "The file is packed in a way no spreadsheet or document is (a part of it "
                f"unpacks to over {ratio} times its size): it cannot be read."
            )


def read_member(archive: zipfile.ZipFile, name: str, *, limit: int) -> bytes:
    """A member's bytes, refused when it is longer than `limit` (read no further than that)."""
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise UnsafeArchive(f"The file's {name} is longer than any real one: it cannot be read.")
    return data
