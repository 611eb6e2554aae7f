"""Signed checkpoints of the chain head, written outside the database.

The chain alone shows an altered or removed event, but not that its newest events were cut off:
a checkpoint (seq, hash, time, key id, and an HMAC over them) kept in files the database cannot
touch does. `audit-verify` checks the trail against the newest one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from mesoclinic.audit import keys
from mesoclinic.audit.log import ChainProblem, chain_head, seal_durably
from mesoclinic.audit.models import AuditEvent

PREFIX = "checkpoint-"


class CheckpointError(ValueError):
    """A checkpoint file cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    key_id: str
    mac: str = ""

    def message(self) -> str:
        stamp = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"mesoclinic-audit-checkpoint\n{self.seq}\n{self.hash}\n{stamp}\n{self.key_id}"

    def signed(self) -> Checkpoint:
        return Checkpoint(self.seq, self.hash, self.at, self.key_id,
                          keys.mac(self.key_id, self.message()))

    def genuine(self) -> bool:
        """Signed by one of our keys (raises UnknownKeyError for a key we do not hold)."""
        return keys.equal(keys.mac(self.key_id, self.message()), self.mac)

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at.isoformat(),
                           "key_id": self.key_id, "mac": self.mac}, indent=1) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Checkpoint:
        try:
            data = json.loads(path.read_text())
            return cls(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"]),
                       str(data["key_id"]), str(data["mac"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def sign_head(seq: int, hash_: str) -> Checkpoint:
    return Checkpoint(seq, hash_, timezone.now(), keys.signing_key_id()).signed()


def write_file(checkpoint: Checkpoint, path: Path) -> Path:
    """Write atomically (a reader never sees half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(checkpoint.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def file_name(checkpoint: Checkpoint) -> str:
    # Zero-padded seq first: the lexically greatest name is the newest head.
    return f"{PREFIX}{checkpoint.seq:012d}-{checkpoint.at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"


def write_checkpoint(*, using: str = DEFAULT_DB_ALIAS, directory: Path | None = None,
                     head: tuple[int, str] | None = None) -> tuple[Checkpoint, Path]:
    """Seal what is pending (with an event saying a checkpoint is taken), then sign the head (or
    the given one) into the checkpoint folder."""
    if head is None:
        head = seal_durably(using=using)
    checkpoint = sign_head(*head)
    folder = directory or checkpoint_dir()
    path = write_file(checkpoint, folder / file_name(checkpoint))
    _last_written[str(folder)] = time.time()
    return checkpoint, path


def latest_checkpoint(directory: Path | None = None) -> tuple[Checkpoint, Path] | None:
    folder = directory or checkpoint_dir()
    try:
        names = [e.name for e in os.scandir(folder)
                 if e.name.startswith(PREFIX) and e.name.endswith(".json")]
    except FileNotFoundError:
        return None
    if not names:
        return None
    path = folder / max(names)
    return Checkpoint.from_file(path), path


def check_against(checkpoint: Checkpoint, source: str, *,
                  using: str = DEFAULT_DB_ALIAS) -> ChainProblem | None:
    """The trail still holds the checkpoint's head, unchanged."""
    try:
        genuine = checkpoint.genuine()
    except keys.UnknownKeyError:
        return ChainProblem(checkpoint.seq, f"checkpoint {source} names key "
                                            f"{checkpoint.key_id!r}, which is not configured")
    if not genuine:
        return ChainProblem(checkpoint.seq, f"checkpoint {source} is not signed with our key "
                                            "(forged or altered)")
    stamp = f"{checkpoint.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    head_seq, _ = chain_head(using=using)
    if head_seq < checkpoint.seq:
        return ChainProblem(head_seq + 1, f"event #{head_seq + 1} is missing: the trail ends at "
                                          f"#{head_seq}, but checkpoint {source} of {stamp} "
                                          f"records #{checkpoint.seq} (newest events removed)")
    if checkpoint.seq == 0:
        return None
    stored = list(AuditEvent.chain.using(using).filter(seq=checkpoint.seq)
                  .values_list("hash", flat=True))
    if not stored or not keys.equal(stored[0], checkpoint.hash):
        return ChainProblem(checkpoint.seq, f"event #{checkpoint.seq} differs from checkpoint "
                                            f"{source} of {stamp} (trail re-chained)")
    return None


_last_written: dict[str, float] = {}


def checkpoint_if_due(*, using: str = DEFAULT_DB_ALIAS) -> Path | None:
    """After a commit: write a checkpoint when the newest is older than AUDIT_CHECKPOINT_SECONDS.
    Usually one comparison; the folder is looked at only when the interval has passed."""
    interval = settings.AUDIT_CHECKPOINT_SECONDS
    if interval <= 0:
        return None
    folder = checkpoint_dir()
    now = time.time()
    if now - _last_written.get(str(folder), 0.0) < interval:
        return None
    newest = latest_mtime(folder)  # another process may have written one
    if newest is not None and now - newest < interval:
        _last_written[str(folder)] = newest
        return None
    return write_checkpoint(using=using, directory=folder)[1]


def latest_mtime(folder: Path) -> float | None:
    try:
        times = [e.stat().st_mtime for e in os.scandir(folder) if e.name.startswith(PREFIX)]
    except FileNotFoundError:
        return None
    return max(times, default=None)
