"""Browse the knowledge pack (any staff) and edit it (a physician with the medical-director flag)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.versions import BasedOnField, StaleEdit, show_conflict
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.knowledge import store
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.knowledge.pack import PackError
from mesoclinic.lib.text import visible_line, visible_text


class EditForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "false", "class": "code"}),
                           max_length=200_000, label=_("File contents (YAML)"), strip=False,
                           validators=[visible_text])
    note = forms.CharField(max_length=500, min_length=5, label=_("What changed and why"),
                           validators=[visible_line])
    # The revision the editor was opened at: a save after someone else's edit is refused (409).
    based_on = BasedOnField()


def _may_edit(access: ClinicAccess) -> bool:
    return access.can(Perm.EDIT_KNOWLEDGE) and access.user.medical_director


@require_GET
@clinic_view(Perm.VIEW_KNOWLEDGE, object_type="knowledge_pack")
def browse(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    pack = store.active_pack()
    revisions = KnowledgeRevision.objects.select_related("created_by")[:20]
    files = sorted(n for n in store.bundled_documents() if n != "pack.yaml")
    return render(request, "knowledge/browse.html", {
        "pack": pack, "revisions": revisions, "may_edit": _may_edit(access), "files": files,
        "indications": [
            (pack.indication_groups[i.group].label, i)
            for i in sorted(pack.indications.values(), key=lambda i: (i.group, i.label))
        ],
        "ingredients": sorted(pack.ingredients.values(), key=lambda i: i.name.lower()),
    })


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.EDIT_KNOWLEDGE, action=AuditEvent.Action.UPDATE, object_type="knowledge_pack")
def edit(request: ClinicRequest, access: ClinicAccess, name: str) -> HttpResponse:
    if not _may_edit(access):
        record(access.actor, action=AuditEvent.Action.UPDATE,
               object_type="knowledge_pack", object_id=name[:64],
               outcome=AuditEvent.Outcome.DENIED, detail="not the medical director",
               organisation_id=str(request.clinic.organisation.public_id) if request.clinic else "")
        raise PermissionDenied
    newest = KnowledgeRevision.objects.order_by("-number").first()
    documents = store.current_documents(newest)
    if name not in documents or name == "pack.yaml":
        raise Http404("No such file")
    form = EditForm(request.POST or None,
                    initial={"text": documents[name], "based_on": newest.number if newest else 0})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            revision = store.edit_document(name=name, text=form.cleaned_data["text"].replace("\r\n", "\n"),
                                note=form.cleaned_data["note"], by=access.user,
                                actor=access.actor, based_on=form.cleaned_data["based_on"])
        except StaleEdit as stale:  # audited by the store; the edited text stays in the form
            conflict = show_conflict(form, stale)
        except PackError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, gettext("%(file)s saved: the pack is now version "
                                              "%(version)s.")
                             % {"file": name, "version": revision.version})
            return redirect("knowledge:browse")
    return render(request, "knowledge/edit.html", {"form": form, "name": name, "conflict": conflict},
                  status=409 if conflict is not None else 422 if form.errors else 200)
