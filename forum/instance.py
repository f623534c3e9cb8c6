"""The instance folder is private: the forum's process creates folders 0700 and files 0600,
and `forum init` reports anything in it that other users of the machine could open.

The folder holds the database (with its -wal and -shm files), the search index, the secret
key, forum.cfg (which may hold the database password) and backups: a member's posts in a
secret group, their hashed recovery codes and the key that signs every session. On a
shared server any other account could otherwise read them.

The process umask does most of the work: SQLite creates forum.db with the umask's mode and
its -wal/-shm files with forum.db's mode, and Whoosh creates its segments, lock files and
folders with the umask's. The systemd units set `UMask=0077` too; `make run` on a laptop
(umask 0022) would otherwise leave forum.db readable by everyone on the machine.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Group and others get nothing: not read, write, nor (for folders) traverse.
OPEN_BITS = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> int:
    """Make the process create files for its owner only (umask gains 0077; it is never
    loosened). Returns the umask now in force."""
    # Reading the umask means setting it; at start-up, before any thread writes a file.
    current = os.umask(OPEN_BITS)
    wanted = current | OPEN_BITS
    os.umask(wanted)
    return wanted


def ensure_private_folder(path: Path) -> Path:
    """Create the folder 0700 if it is missing (its missing parents follow the umask);
    an existing folder's mode is left to its owner (`forum init` reports it if open)."""
    if not path.is_dir():
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(path, FOLDER_MODE)
    return path


@dataclass(frozen=True)
class OpenPath:
    """A file or folder that users other than its owner could open."""

    path: Path
    mode: int
    is_folder: bool

    @property
    def fix(self) -> str:
        """The command that makes it private."""
        return f"chmod {FOLDER_MODE if self.is_folder else FILE_MODE:o} {self.path}"

    def warning(self) -> str:
        """One line for the admin: what, why, and the fix."""
        kind = "folder" if self.is_folder else "file"
        return (
            f"Warning: the {kind} {self.path} is open to other users of this machine"
            f" (mode {self.mode:04o}); make it private: {self.fix}"
        )


def open_paths(instance: Path) -> list[OpenPath]:
    """The instance folder and everything in it that group or others may read, write or
    enter, folders before their contents. Symbolic links are not followed (a link's own
    mode means nothing; its target is checked where it lies inside the folder)."""
    found: list[OpenPath] = []
    if not instance.is_dir():
        return found
    for folder, subfolders, files in os.walk(instance):
        subfolders.sort()
        here = Path(folder)
        found.extend(_check(here, is_folder=True))
        for name in sorted(files):
            found.extend(_check(here / name, is_folder=False))
    return found


def _check(path: Path, *, is_folder: bool) -> list[OpenPath]:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed meanwhile (a lock file, an old index generation)
        return []
    if stat.S_ISLNK(info.st_mode):
        return []
    mode = stat.S_IMODE(info.st_mode)
    return [OpenPath(path, mode, is_folder)] if mode & OPEN_BITS else []
