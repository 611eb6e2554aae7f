"""The patient record: demographics, structured medical history, medications, allergies, workup."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, router, transaction
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.lib.text import visible_line, visible_text
from mesoclinic.patients import search

# No clinical date before 1900: the forms say so, the database holds it for every other writer.
EARLIEST_DATE = date(1900, 1, 1)

phone_validator = RegexValidator(
    r"^\+?[0-9 ()./-]{6,25}$", _("Enter a phone number of digits, spaces and + ( ) - . / only.")
)


LANGUAGES = [
    ("en", "English"), ("tr", "Türkçe"), ("de", "Deutsch"), ("fr", "Français"),
    ("es", "Español"), ("it", "Italiano"), ("ar", "العربية"), ("ru", "Русский"),
]


class PkAmong(models.Expression):
    """`pk IN (subquery)`; on PostgreSQL `pk = ANY(ARRAY(subquery))`.

    Inside an OR with index ranges, PostgreSQL turns `IN (subquery)` into a filter applied to
    every row of the clinic (a hashed SubPlan: ~15 ms for 50,000 patients), but `= ANY(ARRAY(…))`
    into one more primary-key index scan in a BitmapOr. SQLite's OR optimisation takes `IN`.
    """

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, ids: models.QuerySet[Any, Any]) -> None:
        super().__init__()
        self.pk: Any = models.F("pk")
        self.ids: Any = models.Subquery(ids)

    def get_source_expressions(self) -> list[Any]:
        return [self.pk, self.ids]

    def set_source_expressions(self, exprs: Any) -> None:
        self.pk, self.ids = exprs

    def _sql(self, compiler: Any, connection: Any, template: str) -> tuple[str, tuple[Any, ...]]:
        pk_sql, pk_params = compiler.compile(self.pk)
        ids_sql, ids_params = compiler.compile(self.ids)  # "(SELECT …)"
        return template.format(pk=pk_sql, ids=ids_sql), (*pk_params, *ids_params)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        return self._sql(compiler, connection, "{pk} IN {ids}")

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        return self._sql(compiler, connection, "{pk} = ANY(ARRAY{ids})")


class PatientQuerySet(models.QuerySet["Patient"]):
    # The clinic that for_clinic() restricted this queryset to, carried through every chained
    # call so that matching() can confine its name-word index scans to that clinic's range.
    _search_clinic_id: int | None = None

    def _clone(self) -> PatientQuerySet:
        clone = super()._clone()  # type: ignore[misc]  # (django-stubs omit QuerySet._clone)
        clone._search_clinic_id = self._search_clinic_id
        return clone

    def __or__(self, other: Any) -> PatientQuerySet:
        combined = super().__or__(other).all()  # .all(): `none() | qs` answers qs itself
        if getattr(other, "_search_clinic_id", None) != self._search_clinic_id:
            combined._search_clinic_id = None  # rows of another clinic may be in it now
        return combined

    def __xor__(self, other: Any) -> PatientQuerySet:
        combined = super().__xor__(other).all()  # type: ignore[misc]  # (not in django-stubs)
        if getattr(other, "_search_clinic_id", None) != self._search_clinic_id:
            combined._search_clinic_id = None
        return combined

    def for_clinic(self, clinic: Clinic) -> PatientQuerySet:
        qs = self.filter(clinic=clinic)
        qs._search_clinic_id = clinic.pk
        return qs

    def matching(self, text: str) -> PatientQuerySet:
        """Index-backed search by name words (any order), birth date or phone number."""
        query = search.parse_query(text)
        if query.empty:
            return self.none()
        if query.birth_date is not None:
            return self.filter(birth_date=query.birth_date)
        if query.phone:
            key = search.phone_suffix(query.phone)[::-1]
            if not key:
                return self.none()
            return self.filter(
                phone_key__gte=key, phone_key__lt=search.prefix_upper_bound(key)
            )
        # Every query word must be a prefix of some word of the given or family name: of the
        # first word through the key columns' indexes, of a later one through PatientNameWord's
        # (clinic, word, patient) index. Three index range scans per query word, OR-ed; AND-ed
        # across the query words.
        if self._search_clinic_id is not None:
            later = PatientNameWord.objects.filter(clinic_id=self._search_clinic_id)
        else:
            # Clinic unknown (the sister-clinic search): one range scan per clinic, not a scan
            # of every word of every clinic.
            later = PatientNameWord.objects.filter(clinic__in=Clinic.objects.values("pk"))
        qs = self
        for word in dict.fromkeys(query.words):
            upper = search.prefix_upper_bound(word)
            later_match = later.filter(word__gte=word, word__lt=upper).values("patient_id")
            qs = qs.filter(
                models.Q(family_key__gte=word, family_key__lt=upper)
                | models.Q(given_key__gte=word, given_key__lt=upper)
                | PkAmong(later_match)
            )
        # Sort by an expression, not the bare column: otherwise PostgreSQL walks the clinic's
        # whole (clinic, family_key) index in order hoping LIMIT stops it early, filtering out
        # ~50,000 rows for a common name (30 ms), instead of OR-ing the two index ranges (2 ms).
        return qs.order_by(Concat("family_key", models.Value("")), "given_key")


# Each folded search key of Patient and the field it is folded from (refresh_search_keys()).
SEARCH_KEY_SOURCES = {"given_key": "given_name", "family_key": "family_name", "phone_key": "phone"}


# The choices live at module level so that each model's Meta can constrain to them.
class PatientSex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class Patient(models.Model):
    Sex = PatientSex

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    given_name = models.CharField(_("given name"), max_length=100, validators=[visible_line])
    family_name = models.CharField(_("family name"), max_length=100, validators=[visible_line])
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    phone = models.CharField(_("phone"), max_length=25, blank=True, validators=[phone_validator])
    email = models.EmailField(_("email"), max_length=254, blank=True)
    address = models.TextField(_("address"), max_length=500, blank=True, validators=[visible_text])
    national_id = models.CharField(_("national id"), max_length=30, blank=True, validators=[visible_line])
    emergency_contact_name = models.CharField(_("emergency contact name"), max_length=200, blank=True,
                                              validators=[visible_line])
    emergency_contact_phone = models.CharField(
        _("emergency contact phone"), max_length=25, blank=True, validators=[phone_validator]
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, default="en", choices=LANGUAGES
    )
    # Folded copies for index-backed, accent- and case-insensitive search.
    given_key = models.CharField(max_length=100, editable=False, default="")
    family_key = models.CharField(max_length=100, editable=False, default="")
    phone_key = models.CharField(max_length=25, editable=False, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every change of the demographics: an edit based on an older one is refused.
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_key", "given_key"]
        indexes = [
            models.Index(fields=["clinic", "family_key"], name="patient_family_key"),
            models.Index(fields=["clinic", "given_key"], name="patient_given_key"),
            models.Index(fields=["clinic", "birth_date"], name="patient_birth_date"),
            models.Index(fields=["clinic", "phone_key"], name="patient_phone_key"),
            # The unsearched list shows the most recently registered first.
            models.Index(fields=["clinic", "-created_at"], name="patient_recent"),
        ]
        constraints = [
            # A patient is someone with a name: search, charts and the audit trail show it.
            models.CheckConstraint(
                condition=~models.Q(given_name="") & ~models.Q(family_name=""),
                name="patient_named", violation_error_message=_("A patient needs a given and a family name."),
            ),
            # Age rules (F-AGE) read the birth date; the registration form's bound, for every writer.
            models.CheckConstraint(
                condition=models.Q(birth_date__gte=EARLIEST_DATE), name="patient_born_from_1900",
                violation_error_message=_("Date of birth must be after 1900."),
            ),
            # Sex-specific rules (pregnancy, F-PREG) read this value: only the known ones.
            models.CheckConstraint(
                condition=models.Q(sex__in=PatientSex.values), name="patient_sex_known",
                violation_error_message=_("Sex must be female, male or other."),
            ),
            # Versions count from 1: the edit forms' `based_on` compares against it.
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="patient_version_from_1",
                violation_error_message=_("The record version starts at 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_search_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            # Write only the keys of the fields being saved: an email change rewrites no name key.
            saved = {*update_fields}
            kwargs["update_fields"] = saved | {
                key for key, source in SEARCH_KEY_SOURCES.items() if source in saved
            }
        names_saved = update_fields is None or bool(
            {"given_name", "family_name", "clinic", "clinic_id"} & {*update_fields}
        )
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        adding = self._state.adding
        with transaction.atomic(using=using, savepoint=False):
            # The row first: its lock orders concurrent saves of this patient, so the words
            # below are read and rewritten by one transaction at a time.
            super().save(*args, **kwargs)
            if names_saved:
                self._save_name_words(using, adding=adding)

    def _save_name_words(self, using: str, *, adding: bool) -> None:
        """Bring this patient's PatientNameWord rows in line with the folded names."""
        wanted = {(self.clinic_id, word) for word in self.later_name_words()}
        rows = PatientNameWord.objects.using(using).filter(patient=self)
        stored: set[tuple[int, str]] = (
            set() if adding else set(rows.values_list("clinic_id", "word"))
        )
        stale = stored - wanted
        if stale:
            rows.filter(word__in=[word for _, word in stale]).delete()
        PatientNameWord.objects.using(using).bulk_create(
            PatientNameWord(patient=self, clinic_id=clinic_id, word=word)
            for clinic_id, word in sorted(wanted - stored)
        )

    def later_name_words(self) -> list[str]:
        """The words after the first of each name, as PatientNameWord holds them (from the folded
        keys: refresh_search_keys() first)."""
        return search.later_words(self.given_key, self.family_key)

    def refresh_search_keys(self) -> None:
        self.given_key = search.fold(self.given_name)[:100]
        self.family_key = search.fold(self.family_name)[:100]
        self.phone_key = search.phone_key(self.phone)[:25]

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PatientNameWord(models.Model):
    """A folded word of a patient's given or family name after its first ("nur" of "Ayşe Nur").

    The first words are searched through the key columns; with these every word is searchable.
    Maintained by Patient.save(); bulk paths (demo.loader.seed) create the rows themselves.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="name_words", db_index=False
    )
    # The patient's clinic, copied so that a search scans only its own clinic's words.
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", db_index=False)
    word = models.CharField(max_length=100)

    class Meta:
        indexes = [
            # (clinic, word) for the prefix range scan; patient so that the scan needs no table.
            models.Index(fields=["clinic", "word", "patient"], name="patient_name_word"),
        ]
        constraints = [
            # Also the index that finds a patient's words when the name changes or is deleted.
            models.UniqueConstraint(fields=["patient", "word"], name="patient_name_word_unique"),
        ]

    def __str__(self) -> str:
        return self.word


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class Diabetes(models.TextChoices):
    NONE = "none", _("None")
    TYPE1 = "type1", _("Type 1")
    TYPE2 = "type2", _("Type 2")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Cancer(models.TextChoices):
    NONE = "none", _("None")
    ACTIVE = "active", _("Active or under treatment")
    REMISSION = "remission", _("In remission")
    UNKNOWN = "unknown", _("Unknown")


class MedicalHistory(models.Model):
    """One version of the structured history; a change adds a version, earlier ones are kept."""

    Diabetes = Diabetes
    Cancer = Cancer

    # PROTECT: deleting a patient or a user must never silently erase clinical history.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="histories")
    version = models.PositiveIntegerField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    pregnant = models.CharField(_("pregnant"), max_length=8, choices=YesNoUnknown.choices, default="unknown")
    breastfeeding = models.CharField(
        _("breastfeeding"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    diabetes = models.CharField(_("diabetes"), max_length=8, choices=Diabetes.choices, default="unknown")
    insulin = models.CharField(_("insulin"), max_length=8, choices=YesNoUnknown.choices, default="unknown")
    cancer = models.CharField(_("cancer"), max_length=10, choices=Cancer.choices, default="unknown")
    multi_drug_therapy = models.CharField(
        _("multi drug therapy"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    heart_disease = models.CharField(
        _("heart disease"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    stroke_history = models.CharField(
        _("stroke history"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    liver_disorder = models.CharField(
        _("liver disorder"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    kidney_disorder = models.CharField(
        _("kidney disorder"), max_length=8, choices=YesNoUnknown.choices, default="unknown"
    )
    other_conditions = models.TextField(_("other conditions"), max_length=2000, blank=True,
                                        validators=[visible_text])

    CLINICAL_FIELDS = (
        "pregnant", "breastfeeding", "diabetes", "insulin", "cancer", "multi_drug_therapy",
        "heart_disease", "stroke_history", "liver_disorder", "kidney_disorder", "other_conditions",
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            # Two concurrent edits cannot both become version N.
            models.UniqueConstraint(
                fields=["patient", "version"], name="history_unique_version",
                violation_error_message=_("This version of the history was already recorded."),
            ),
            # Versions count from 1 (0 is "never recorded" in the edit form's `based_on`).
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="history_version_from_1",
                violation_error_message=_("History versions start at 1."),
            ),
            # The screening reads these answers (F-PREG, F-DIAB, F-CANCER…): only known values,
            # never a typo that a rule would silently read as "unknown".
            models.CheckConstraint(
                condition=models.Q(
                    pregnant__in=YesNoUnknown.values, breastfeeding__in=YesNoUnknown.values,
                    diabetes__in=Diabetes.values, insulin__in=YesNoUnknown.values,
                    cancer__in=Cancer.values, multi_drug_therapy__in=YesNoUnknown.values,
                    heart_disease__in=YesNoUnknown.values, stroke_history__in=YesNoUnknown.values,
                    liver_disorder__in=YesNoUnknown.values, kidney_disorder__in=YesNoUnknown.values,
                ),
                name="history_answers_known",
                violation_error_message=_("Every history answer must be one of its choices."),
            ),
        ]

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.CLINICAL_FIELDS}


class RetractableQuerySet(models.QuerySet[Any]):
    def current(self) -> RetractableQuerySet:
        """Entries in force: not withdrawn as entered in error."""
        return self.filter(retracted_at__isnull=True)


class Retractable(models.Model):
    """A list entry is never deleted: one entered in error is withdrawn, with who and why."""

    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retraction_reason = models.CharField(_("retraction reason"), max_length=500, blank=True,
                                         validators=[visible_text])

    objects = RetractableQuerySet.as_manager()

    class Meta:
        abstract = True
        constraints = [
            # A withdrawn entry says when, who and why; one in force has none of the three.
            models.CheckConstraint(
                condition=(
                    models.Q(retracted_at__isnull=True, retracted_by__isnull=True,
                             retraction_reason="")
                    | (models.Q(retracted_at__isnull=False, retracted_by__isnull=False)
                       & ~models.Q(retraction_reason=""))
                ),
                name="%(class)s_withdrawal_complete",
                violation_error_message=_("A withdrawn entry needs who withdrew it and why."),
            ),
        ]


class Medication(Retractable):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(_("name"), max_length=200, validators=[visible_line])
    atc_code = models.CharField(
        _("atc code"),
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$",
                                   _("Enter an ATC code such as N02BA01."))],
    )
    dose = models.CharField(_("dose"), max_length=100, blank=True, validators=[visible_line])
    started_on = models.DateField(_("started on"), null=True, blank=True)
    last_dose_on = models.DateField(
        _("last dose on"), null=True, blank=True,
        help_text=_("Leave empty while the patient still takes it."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            *Retractable.Meta.constraints,
            models.CheckConstraint(condition=~models.Q(name=""), name="medication_named",
                                   violation_error_message=_("A medication needs a name.")),
            # Wash-out rules (F-NSAID, F-ANTICOAG) count from the last dose: never before the start.
            models.CheckConstraint(
                condition=models.Q(started_on__isnull=True) | models.Q(last_dose_on__isnull=True)
                | models.Q(last_dose_on__gte=models.F("started_on")),
                name="medication_dose_dates_in_order",
                violation_error_message=_("The last dose cannot be before the start."),
            ),
            models.CheckConstraint(
                condition=(models.Q(started_on__isnull=True) | models.Q(started_on__gte=EARLIEST_DATE))
                & (models.Q(last_dose_on__isnull=True) | models.Q(last_dose_on__gte=EARLIEST_DATE)),
                name="medication_dates_from_1900",
                violation_error_message=_("Medication dates must be after 1900."),
            ),
        ]


class Severity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class Allergy(Retractable):
    Severity = Severity

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(_("substance"), max_length=200, validators=[visible_line])
    reaction = models.CharField(_("reaction"), max_length=200, blank=True, validators=[visible_line])
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default="moderate")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["substance"]
        constraints = [
            *Retractable.Meta.constraints,
            # F-ALLERGY matches the substance against the ingredients: it cannot be empty.
            models.CheckConstraint(condition=~models.Q(substance=""), name="allergy_substance_named",
                                   violation_error_message=_("An allergy needs a substance.")),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values),
                                   name="allergy_severity_known",
                                   violation_error_message=_("Severity must be mild, moderate or severe.")),
        ]


class Workup(models.Model):
    """The pre-treatment workup (F-WORKUP): examination, history review and physician sign-off."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="workup")
    physical_exam_note = models.TextField(_("physical exam note"), max_length=5000, blank=True,
                                          validators=[visible_text])
    physical_exam_on = models.DateField(_("physical exam on"), null=True, blank=True)
    history_reviewed_on = models.DateField(_("history reviewed on"), null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every change and sign-off: an edit based on an older one is refused.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        constraints = [
            # A sign-off names the physician and the moment (F-WORKUP), or there is none.
            models.CheckConstraint(
                condition=models.Q(signed_off_by__isnull=True, signed_off_at__isnull=True)
                | models.Q(signed_off_by__isnull=False, signed_off_at__isnull=False),
                name="workup_sign_off_complete",
                violation_error_message=_("A sign-off needs both the physician and the time."),
            ),
            models.CheckConstraint(
                condition=(models.Q(physical_exam_on__isnull=True)
                           | models.Q(physical_exam_on__gte=EARLIEST_DATE))
                & (models.Q(history_reviewed_on__isnull=True)
                   | models.Q(history_reviewed_on__gte=EARLIEST_DATE)),
                name="workup_dates_from_1900", violation_error_message=_("Workup dates must be after 1900."),
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="workup_version_from_1",
                violation_error_message=_("The workup version starts at 1."),
            ),
        ]


class LabKind(models.TextChoices):
    BLOOD = "blood", _("Blood test")
    URINE = "urine", _("Urine test")


class LabResult(models.Model):
    Kind = LabKind

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_results")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    taken_on = models.DateField(_("taken on"))
    values = models.TextField(max_length=4000, help_text="e.g. Hb 13.5 g/dL; glucose 92 mg/dL",
                              validators=[visible_text])
    abnormal = models.BooleanField(_("abnormal"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_on"]
        constraints = [
            # F-WORKUP counts the days since the test: a date before 1900 is a typing error.
            models.CheckConstraint(condition=models.Q(taken_on__gte=EARLIEST_DATE),
                                   name="lab_taken_from_1900",
                                   violation_error_message=_("Test dates must be after 1900.")),
            models.CheckConstraint(condition=models.Q(kind__in=LabKind.values), name="lab_kind_known",
                                   violation_error_message=_("A test is a blood or a urine test.")),
        ]


class BreakGlassGrant(models.Model):
    """Emergency access by a physician of a sister clinic, for a stated reason and a short time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500, validators=[visible_text])
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="breakglass_lookup")]
        constraints = [
            # Emergency access is for a stated reason and ends after it starts.
            models.CheckConstraint(condition=~models.Q(reason=""), name="breakglass_reason_given",
                                   violation_error_message=_("Break-glass access needs a reason.")),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("granted_at")),
                                   name="breakglass_expires_after_start",
                                   violation_error_message=_("Break-glass access must end after it starts.")),
        ]


class AllergyStatement(models.Model):
    """"No known allergies": the patient was asked and has none (who, when).

    Tells "asked, none" apart from "not asked yet". Cleared (kept on record) when an allergy is
    added; asking again later adds a new statement.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergy_statements")
    stated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stated_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-stated_at"]
        constraints = [
            # At most one statement in force per patient.
            models.UniqueConstraint(fields=["patient"], condition=models.Q(cleared_at__isnull=True),
                                    name="allergy_statement_one_open"),
        ]
