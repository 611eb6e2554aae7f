"""The pack in force: the newest revision in the database, else the bundled files."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from django.db import transaction

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.versions import Change, StaleEdit, stale_detail
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.knowledge.pack import DEFAULT_DATA_DIR, KnowledgePack, PackError, load_pack

_lock = threading.Lock()
# Keyed by (number, created_at): numbers alone repeat when a database is recreated (tests, restores).
_cache: dict[tuple[int, object], KnowledgePack] = {}


def bundled_documents() -> dict[str, str]:
    """The YAML files shipped with the code, by name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DEFAULT_DATA_DIR.glob("*.yaml"))}


def pack_from_documents(documents: dict[str, str]) -> KnowledgePack:
    """Validate and build a pack from file texts (raises PackError naming file and entry)."""
    with tempfile.TemporaryDirectory(prefix="mesoclinic-pack-") as tmp:
        for name, text in documents.items():
            if "/" in name or name.startswith("."):
                raise PackError(name, None, "not a plain file name")
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return load_pack(tmp)


def active_pack() -> KnowledgePack:
    """The pack in force; each revision is parsed once per process."""
    latest = KnowledgeRevision.objects.order_by("-number").values_list("number", "created_at").first()
    if latest is None:
        return load_pack()
    with _lock:
        if latest not in _cache:
            revision = KnowledgeRevision.objects.get(number=latest[0])
            _cache.clear()
            _cache[latest] = pack_from_documents(revision.documents)
        return _cache[latest]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def load_bundled(actor: Actor) -> KnowledgeRevision | None:
    """Import the bundled files when they are newer than every revision (idempotent)."""
    documents = bundled_documents()
    pack = pack_from_documents(documents)
    with transaction.atomic():
        newest = KnowledgeRevision.objects.select_for_update().order_by("-number").first()
        if newest is not None and _version_key(newest.version) >= _version_key(pack.version):
            return None
        revision = KnowledgeRevision.objects.create(
            number=(newest.number + 1) if newest else 1, version=pack.version,
            documents=documents, note="bundled knowledge pack",
        )
        record(actor, action=AuditEvent.Action.CREATE, object_type="knowledge_pack",
               object_id=pack.version, detail="bundled pack loaded")
    return revision


def bump(version: str) -> str:
    """2026.11.1 → 2026.11.2: every edit gets a new version, stored with each screening."""
    *head, last = version.split(".")
    return ".".join([*head, str(int(last) + 1)])


def _revisions_since(based_on: int) -> list[Change]:
    """The revisions saved after `based_on`: which file, which version and note, who, when."""
    return [
        Change(field=revision.changed_file or "pack", value=f"{revision.version}: {revision.note}",
               by=str(revision.created_by) if revision.created_by else "bundled pack",
               at=revision.created_at)
        for revision in KnowledgeRevision.objects.filter(number__gt=based_on)
        .select_related("created_by").order_by("number")
    ]


def edit_document(*, name: str, text: str, note: str, by: User, actor: Actor,
                  based_on: int | None = None) -> KnowledgeRevision:
    """A medical director replaces one file; the whole pack is re-validated, then versioned.

    `based_on` is the revision number the editor was opened at (0: none yet); when another
    revision came first, StaleEdit is raised, the refusal audited and nothing saved.
    """
    with transaction.atomic():
        outcome = _edit_locked(name, text, note, by, actor, based_on)
    if isinstance(outcome, StaleEdit):
        raise outcome
    return outcome


def _edit_locked(name: str, text: str, note: str, by: User, actor: Actor,
                 based_on: int | None) -> KnowledgeRevision | StaleEdit:
    # The newest revision's row lock orders two editors.
    newest = KnowledgeRevision.objects.select_for_update().order_by("-number").first()
    current = newest.number if newest else 0
    if based_on is not None and based_on != current:
        # Returned, not raised: the refusal's audit event must commit.
        record(actor, action=AuditEvent.Action.UPDATE, object_type="knowledge_pack",
               object_id=name[:64], outcome=AuditEvent.Outcome.DENIED,
               detail=stale_detail(based_on, current), organisation_id=_organisation_of(by))
        return StaleEdit(based_on=based_on, current=current, changes=_revisions_since(based_on))
    base = newest.documents if newest else bundled_documents()
    if name not in base or name == "pack.yaml":
        raise PackError(name, None, "no such editable file")
    old_version = newest.version if newest else load_pack().version
    version = bump(old_version)
    documents = dict(base)
    documents[name] = text
    documents["pack.yaml"] = _with_version(documents["pack.yaml"], version)
    pack_from_documents(documents)  # raises PackError, naming the file and entry
    revision = KnowledgeRevision.objects.create(
        number=current + 1, version=version, documents=documents,
        created_by=by, note=note[:500], changed_file=name,
    )
    record(actor, action=AuditEvent.Action.UPDATE, object_type="knowledge_pack",
           object_id=version, changes={"version": [old_version, version], "file": [None, name]},
           detail=note[:500], organisation_id=_organisation_of(by))
    return revision


def _organisation_of(user: User) -> str:
    """The editor's organisation, whose auditors see the edit (none when they work for several)."""
    found = {str(public_id) for public_id in user.memberships.values_list(
        "clinic__organisation__public_id", flat=True)}
    return found.pop() if len(found) == 1 else ""


def _with_version(manifest: str, version: str) -> str:
    lines = [
        f'version: "{version}"' if line.startswith("version:") else line
        for line in manifest.splitlines()
    ]
    return "\n".join(lines) + "\n"
