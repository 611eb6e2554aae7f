"""Photo pages: the timeline per view, upload, the image itself, comparison with a slider, the
metrics plot, simulations and outcome scores.

Photos are clinical: every page and every image needs Perm.VIEW_CLINICAL and is audited (the
image too: each view or download is a read of the record). Uploading needs Perm.TAKE_PHOTOS, a
simulation Perm.SIMULATE (physicians), a score Perm.RECORD_OUTCOME. Images are served with
`nosniff` and `no-store`; a download as an attachment.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib import plots
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.photos import actions, alignment, calibration, imaging
from mesoclinic.photos.actions import PhotoRefused, Upload
from mesoclinic.photos.models import (
    OUTCOME_RANGE,
    Occasion,
    OutcomeKind,
    OutcomeMeasure,
    Photo,
    Simulation,
    View,
)
from mesoclinic.plans.models import TreatmentPlan

DISPLAY_SIDE = 1600  # pixels: what a page shows; the original is a download
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
METRICS_SHOWN = {
    "face": [("erythema_index", gettext_lazy("Redness (erythema index)")),
             ("melanin_index", gettext_lazy("Pigmentation (melanin index)")),
             ("ita_deg", gettext_lazy("Skin tone (ITA°)")), ("spots", gettext_lazy("Dark spots (count)")),
             ("texture_percent", gettext_lazy("Texture (fine lines, percent of the area)")),
             ("under_eye_delta_l", gettext_lazy("Under-eye darkness (ΔL*)"))],
    "body": [("erythema_index", gettext_lazy("Redness (erythema index)")),
             ("melanin_index", gettext_lazy("Pigmentation (melanin index)")),
             ("spots", gettext_lazy("Dark spots (count)"))],
    "scalp": [("hair_coverage_percent", gettext_lazy("Hair coverage (%)")),
              ("hair_density", gettext_lazy("Hairs per cm² (marked area)"))],
}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _photo(access: PatientAccess, photo_id: UUID) -> Photo:
    found = list(Photo.objects.select_related("photo_set__plan", "photo_set__session", "uploaded_by")
                 .filter(public_id=photo_id, photo_set__patient=access.patient)[:1])
    if not found:
        raise Http404("No such photo")
    return found[0]


def plan_label(plan: TreatmentPlan) -> str:
    """A plan as staff name it: its indication and area in the pack's words, and its status."""
    pack = active_pack()
    current = plan.current
    indication = pack.indications.get(current.indication)
    area = pack.areas.get(current.area)
    return _("%(indication)s (%(area)s), %(status)s") % {
        "indication": getattr(indication, "label", current.indication),
        "area": getattr(area, "label", current.area), "status": plan.get_status_display()}


def _plans_with_consent(access: PatientAccess) -> list[TreatmentPlan]:
    return [p for p in TreatmentPlan.objects.filter(patient=access.patient).order_by("-created_at")
            if actions.photo_consent(p) is not None]


class UploadForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("Plan (its consent allows photographs)"))
    view = forms.ChoiceField(label=gettext_lazy("View"), choices=View.choices)
    occasion = forms.ChoiceField(label=gettext_lazy("Taken at"), choices=Occasion.choices)
    session = forms.ChoiceField(label=gettext_lazy("Session"), required=False)
    taken_on = forms.DateField(label=gettext_lazy("Taken on"), widget=DATE)
    mm_per_pixel = forms.DecimalField(
        label=gettext_lazy("Scale, millimetres per pixel (if known)"), required=False,
        min_value=Decimal("0.000001"), max_value=Decimal("10"), max_digits=8, decimal_places=6,
        help_text=gettext_lazy("A trichoscope's known scale, or one measured on a ruler in the frame; "
                               "hairs per cm² need it."))
    file = forms.FileField(label=gettext_lazy("Photo (JPEG, PNG or HEIC)"), widget=forms.ClearableFileInput(
        attrs={"accept": "image/jpeg,image/png,image/heic,image/heif", "capture": "environment"}))

    def __init__(self, *args: Any, plans: list[TreatmentPlan], sessions: list[TreatmentSession],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(str(p.public_id), plan_label(p)) for p in plans]  # type: ignore[attr-defined]
        self.fields["session"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(s.public_id), _("Session %(n)d") % {"n": s.session_number}) for s in sessions]


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def index(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    photos = list(Photo.objects.filter(photo_set__patient=access.patient)
                  .select_related("photo_set").order_by("view", "photo_set__taken_on", "id"))
    by_view: dict[str, list[Photo]] = {}
    for photo in photos:
        by_view.setdefault(photo.view, []).append(photo)
    labels = dict(View.choices)
    timelines = [{"view": view, "label": labels[view], "photos": items, "first": items[0], "last": items[-1]}
                 for view, items in by_view.items()]
    simulations = list(Simulation.objects.filter(photo__photo_set__patient=access.patient)
                       .select_related("photo")[:20])
    return render(request, "photos/index.html", {
        "patient": access.patient, "timelines": timelines, "simulations": simulations,
        "can_take": access.can(Perm.TAKE_PHOTOS), "can_simulate": access.can(Perm.SIMULATE),
        "consented": bool(_plans_with_consent(access))})


@require_http_methods(["GET", "POST"])
@patient_view(Perm.TAKE_PHOTOS, object_type="photo")
def upload(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    plans = _plans_with_consent(access)
    sessions = list(TreatmentSession.objects.filter(patient=access.patient).order_by("-started_at")[:30])
    today = timezone.localtime(timezone.now(), ZoneInfo(access.clinic.timezone)).date()
    form = UploadForm(request.POST if request.method == "POST" else None,
                      request.FILES if request.method == "POST" else None,
                      initial={"taken_on": today, "view": request.GET.get("view") or View.FACE_FRONT},
                      plans=plans, sessions=sessions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        plan = next(p for p in plans if str(p.public_id) == data["plan"])
        session = next((s for s in sessions if str(s.public_id) == data.get("session")), None)
        uploaded = data["file"]
        try:
            if uploaded.size > actions.MAX_UPLOAD_BYTES:
                raise PhotoRefused("file", _("The file is larger than %(mb)d MB.")
                                   % {"mb": actions.MAX_UPLOAD_BYTES // 2**20})
            photo = actions.upload(patient=access.patient, plan=plan, by=access.user, actor=access.actor,
                                   item=Upload(view=data["view"], occasion=data["occasion"],
                                               taken_on=data["taken_on"], data=uploaded.read(),
                                               session=session, mm_per_pixel=data.get("mm_per_pixel")))
        except PhotoRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Photo stored; its metrics follow in a moment."))
            return redirect("photos:photo", access.patient.public_id, photo.public_id)
    return render(request, "photos/upload.html", {"patient": access.patient, "form": form, "plans": plans},
                  status=422 if request.method == "POST" else 200)


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def photo_page(request: ClinicRequest, access: PatientAccess, photo_id: UUID) -> HttpResponse:
    photo = _photo(access, photo_id)
    others = list(Photo.objects.filter(photo_set__patient=access.patient, view=photo.view)
                  .exclude(pk=photo.pk).select_related("photo_set").order_by("-photo_set__taken_on")[:20])
    shown = [(key, label, _metric_value(photo.metrics, key)) for key, label in
             METRICS_SHOWN.get(photo.photo_set.area, [])] if photo.metrics else []
    warnings = [_(w) for w in (photo.metrics or {}).get("warnings", [])]
    return render(request, "photos/photo.html", {
        "patient": access.patient, "photo": photo, "others": others, "metrics": shown, "warnings": warnings,
        "can_simulate": access.can(Perm.SIMULATE) and photo.photo_set.area == "face",
        "can_take": access.can(Perm.TAKE_PHOTOS)})


def _display_jpeg(photo: Photo) -> bytes:
    """The photo scaled for a page (JPEG draft mode decodes a smaller image directly)."""
    from PIL import Image

    with photo.file.open("rb") as handle:
        source = Image.open(io.BytesIO(handle.read()))
        source.draft("RGB", (DISPLAY_SIDE, DISPLAY_SIDE))
        image = source.convert("RGB")
        image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=88)
        return out.getvalue()


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def image(request: ClinicRequest, access: PatientAccess, photo_id: UUID) -> HttpResponse:
    photo = _photo(access, photo_id)
    return _no_store(HttpResponse(_display_jpeg(photo), content_type="image/jpeg"))


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def download(request: ClinicRequest, access: PatientAccess, photo_id: UUID) -> HttpResponse:
    photo = _photo(access, photo_id)
    with photo.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type="image/jpeg")
    access.audit(AuditEvent.Action.EXPORT, object_type="photo", object_id=str(photo.public_id),
                 detail="photo downloaded")
    taken = photo.photo_set.taken_on.isoformat()
    response["Content-Disposition"] = f'attachment; filename="photo-{taken}-{photo.view}.jpg"'
    return _no_store(response)


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def compare(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    try:
        first = _photo(access, UUID(request.GET.get("a", "")))
        second = _photo(access, UUID(request.GET.get("b", "")))
    except ValueError:
        raise Http404("Choose two photos") from None
    if first.view != second.view:
        return render(request, "photos/compare.html", {
            "patient": access.patient, "error": _("Compare two photos of the same view.")}, status=422)
    older, newer = sorted([first, second], key=lambda p: (p.photo_set.taken_on, p.pk))
    return render(request, "photos/compare.html", {"patient": access.patient, "a": older, "b": newer})


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def aligned(request: ClinicRequest, access: PatientAccess, photo_id: UUID, base_id: UUID) -> HttpResponse:
    """`photo` warped onto `base`: by the eyes on a face, else by the points placed on both."""
    import numpy as np
    from PIL import Image

    moving, base = _photo(access, photo_id), _photo(access, base_id)
    base_rgb = np.asarray(Image.open(io.BytesIO(_display_jpeg(base))).convert("RGB"))
    moving_rgb = np.asarray(Image.open(io.BytesIO(_display_jpeg(moving))).convert("RGB"))
    scale_base = base_rgb.shape[1] / base.width
    scale_moving = moving_rgb.shape[1] / moving.width
    points = None
    if len(base.points) >= 2 and len(moving.points) == len(base.points):
        points = ([(x * scale_base, y * scale_base) for x, y in base.points],
                  [(x * scale_moving, y * scale_moving) for x, y in moving.points])
    try:
        result = alignment.align_pair(base_rgb, moving_rgb, base_points=points[0] if points else None,
                                      moving_points=points[1] if points else None)
        out, method = result.rgb, str(result.method)
    except alignment.AlignmentRefused:
        out, method = moving_rgb, "none"
    response = HttpResponse(imaging.encode_jpeg(np.ascontiguousarray(out)), content_type="image/jpeg")
    response["X-Alignment"] = method
    return _no_store(response)


@require_POST
@patient_view(Perm.TAKE_PHOTOS, object_type="photo")
def points(request: ClinicRequest, access: PatientAccess, photo_id: UUID) -> HttpResponse:
    photo = _photo(access, photo_id)
    raw = request.POST.get("points", "").strip()
    try:
        pairs = [[float(v) for v in item.split(",")] for item in raw.split(";") if item.strip()]
        actions.set_points(photo=photo, points=pairs, actor=access.actor)
    except (ValueError, PhotoRefused) as exc:
        message = exc.message if isinstance(exc, PhotoRefused) else _("Write points as x,y;x,y.")
        messages.error(request, message)
        return render(request, "photos/photo.html", {"patient": access.patient, "photo": photo, "others": [],
                                                     "metrics": [], "points_error": message}, status=422)
    messages.success(request, _("Alignment points saved."))
    return redirect("photos:photo", access.patient.public_id, photo.public_id)


def _one_decimal(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _metric_value(values: dict[str, Any] | None, key: str) -> float | None:
    if not values:
        return None
    value = values.get(key)
    if key == "spots" and isinstance(value, dict):
        value = value.get("count")
    if key == "hair_density" and isinstance(value, dict):
        value = value.get("per_cm2")
    return float(value) if isinstance(value, int | float) else None


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="photo")
def metrics_plot(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    view = request.GET.get("view", "")
    if view not in View.values:
        raise Http404("No such view")
    photos = list(Photo.objects.filter(photo_set__patient=access.patient, view=view, metrics__isnull=False)
                  .select_related("photo_set").order_by("photo_set__taken_on", "id"))
    area = view.split("_", 1)[0]
    charts = []
    for key, label in METRICS_SHOWN.get(area, []):
        columns = []
        for photo in photos:
            value = _metric_value(photo.metrics, key)
            if value is not None:
                columns.append(plots.Column(label=photo.photo_set.taken_on.isoformat(), value=value,
                                            text=f"{value:.1f}",
                                            tick=photo.photo_set.taken_on.strftime("%d.%m.%y")))
        charts.append({"key": key, "label": label, "svg": plots.column_chart(
            columns, title=str(label), desc=str(label), id_prefix=f"m-{key}", no_data_text="–",
            number=_one_decimal)})
    return render(request, "photos/metrics.html", {
        "patient": access.patient, "view_label": dict(View.choices)[view], "charts": charts, "photos": photos,
        "warning": _("Metrics compare only between photos taken the same way: the same light, camera and "
                     "distance. No colour chart was found in some of these photos.")
        if any(not (p.metrics or {}).get("colour_chart", {}).get("found") for p in photos) else ""})


@require_POST
@patient_view(Perm.SIMULATE, object_type="simulation")
def simulate(request: ClinicRequest, access: PatientAccess, photo_id: UUID) -> HttpResponse:
    photo = _photo(access, photo_id)
    try:
        strength = Decimal(request.POST.get("strength", ""))
        if not strength.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        strength = Decimal("-1")
    try:
        made = actions.simulate(photo=photo, strength=strength.quantize(Decimal("0.01")) if strength >= 0
                                else strength, watermark=_("SIMULATION — NOT A PREDICTION"),
                                by=access.user, actor=access.actor)
    except PhotoRefused as exc:
        messages.error(request, exc.message)
        return redirect("photos:photo", access.patient.public_id, photo.public_id)
    return redirect("photos:simulation", access.patient.public_id, made.public_id)


def _simulation(access: PatientAccess, simulation_id: UUID) -> Simulation:
    found = list(Simulation.objects.select_related("photo__photo_set", "created_by")
                 .filter(public_id=simulation_id, photo__photo_set__patient=access.patient)[:1])
    if not found:
        raise Http404("No such simulation")
    return found[0]


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="simulation")
def simulation_page(request: ClinicRequest, access: PatientAccess, simulation_id: UUID) -> HttpResponse:
    made = _simulation(access, simulation_id)
    # The notes are the engine's English sentences, marked for translation.
    return render(request, "photos/simulation.html", {"patient": access.patient, "simulation": made,
                                                      "notes": [_(note) for note in made.notes]})


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="simulation")
def simulation_image(request: ClinicRequest, access: PatientAccess, simulation_id: UUID) -> HttpResponse:
    made = _simulation(access, simulation_id)
    with made.file.open("rb") as handle:
        return _no_store(HttpResponse(handle.read(), content_type="image/jpeg"))


@require_GET
@clinic_view(Perm.TAKE_PHOTOS, object_type="photo")
def sticker(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """The calibration sticker to print (no patient data): its black square is 10 mm wide."""
    response = HttpResponse(calibration.sticker_png(), content_type="image/png")
    response["Content-Disposition"] = 'attachment; filename="mesoclinic-calibration-sticker-10mm.png"'
    return response


class OutcomeForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("Plan"))
    kind = forms.ChoiceField(label=gettext_lazy("Measure"), choices=OutcomeKind.choices)
    value = forms.IntegerField(label=gettext_lazy("Score"), min_value=0, max_value=10)
    recorded_on = forms.DateField(label=gettext_lazy("Recorded on"), widget=DATE)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args: Any, plans: list[TreatmentPlan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(str(p.public_id), plan_label(p)) for p in plans]  # type: ignore[attr-defined]


def _first_session_day(plan: TreatmentPlan) -> Any:
    first = (TreatmentSession.objects.filter(plan=plan).order_by("started_at")
             .values_list("started_at", flat=True))
    return first[0].date() if first else None


def _expected_course(plan: TreatmentPlan, start: Any) -> list[dict[str, Any]]:
    """The protocol's expected course (weeks after the first session), from the knowledge pack."""
    protocol = active_pack().protocols.get(plan.current.protocol) if plan.current.protocol else None
    course = getattr(protocol, "expected_course", None) or ()
    return [{"weeks": step.weeks, "text": step.text,
             "on": start + timedelta(weeks=step.weeks) if start else None} for step in course]


@require_http_methods(["GET", "POST"])
@patient_view(Perm.VIEW_CLINICAL, object_type="outcome_measure")
def outcomes(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    plans = list(TreatmentPlan.objects.filter(patient=access.patient).order_by("-created_at"))
    today = timezone.localtime(timezone.now(), ZoneInfo(access.clinic.timezone)).date()
    form = OutcomeForm(request.POST if request.method == "POST" else None, plans=plans,
                       initial={"recorded_on": today})
    if request.method == "POST":
        if not access.can(Perm.RECORD_OUTCOME):
            access.audit(AuditEvent.Action.CREATE, object_type="outcome_measure",
                         outcome=AuditEvent.Outcome.DENIED, detail="missing permission record_outcome")
            return HttpResponse(_("You may not record outcome scores."), status=403)
        if form.is_valid():
            data = form.cleaned_data
            plan = next(p for p in plans if str(p.public_id) == data["plan"])
            try:
                actions.record_outcome(patient=access.patient, plan=plan, kind=data["kind"],
                                       value=data["value"],
                                       recorded_on=data["recorded_on"], note=data.get("note") or "",
                                       by=access.user, actor=access.actor)
            except PhotoRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Score recorded."))
                return redirect("photos:outcomes", access.patient.public_id)
    per_plan = []
    for plan in plans:
        start = _first_session_day(plan)
        measures = list(OutcomeMeasure.objects.filter(plan=plan))
        charts = []
        for kind, label in OutcomeKind.choices:
            rows = [m for m in measures if m.kind == kind]
            if not rows:
                continue
            low, high = OUTCOME_RANGE[OutcomeKind(kind)]
            charts.append({"label": label, "svg": plots.column_chart(
                # Each score's week after the first session, to read against the expected course.
                [plots.Column(label=m.recorded_on.isoformat(), value=float(m.value), text=str(m.value),
                              tick=m.recorded_on.strftime("%d.%m.%y"),
                              subtick=_("week %(n)d") % {"n": (m.recorded_on - start).days // 7}
                              if start else "") for m in rows],
                title=str(label), desc=_("Scores from %(low)d to %(high)d") % {"low": low, "high": high},
                id_prefix=f"o-{plan.pk}-{kind}")})
        per_plan.append({"plan": plan, "label": plan_label(plan), "charts": charts,
                         "course": _expected_course(plan, start), "measures": measures})
    return render(request, "photos/outcomes.html", {
        "patient": access.patient, "form": form if access.can(Perm.RECORD_OUTCOME) else None,
        "per_plan": per_plan}, status=422 if request.method == "POST" else 200)
