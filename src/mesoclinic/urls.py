from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import include, path

from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.views import api
from mesoclinic.charting.urls import recall_patterns as charting_recalls
from mesoclinic.plans.price_views import price_list


def home(request: HttpRequest) -> HttpResponse:
    """Each role lands where its work is: patients, else the audit trail, else the staff list."""
    if not request.user.is_authenticated:
        # Straight to sign-in: by way of the patient list, a manager's `next` would be a page
        # they may not open, and their first page a refusal.
        return redirect("accounts:login")
    perms: frozenset[Perm] = getattr(request, "perms", frozenset())
    if Perm.VIEW_DEMOGRAPHICS not in perms:
        if Perm.VIEW_AUDIT in perms:
            return redirect("audit:trail")
        if Perm.VIEW_STAFF in perms:
            return redirect("staff:list")
    return redirect("patients:list")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Django refuses an oversized body when a middleware or view reads it, as a 400: say 413.
    if isinstance(exception, RequestDataTooBig):
        return render(request, "413.html",
                      {"limit_kb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024}, status=413)
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


handler400 = bad_request
handler404 = not_found
handler403 = forbidden
handler500 = server_error

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health, name="health"),
    path("accounts/", include("mesoclinic.accounts.urls")),
    path("patients/", include("mesoclinic.patients.urls")),
    path("patients/", include("mesoclinic.screening.urls")),
    path("patients/", include("mesoclinic.plans.urls")),
    path("patients/", include("mesoclinic.charting.urls")),
    path("patients/", include("mesoclinic.safety.patient_urls")),
    path("patients/", include("mesoclinic.photos.urls")),
    path("recalls/", include(charting_recalls)),
    path("schedule/", include("mesoclinic.scheduling.urls")),
    path("inventory/", include("mesoclinic.inventory.urls")),
    path("safety/", include("mesoclinic.safety.urls")),
    path("clinic/prices/", price_list, name="clinic-prices"),
    path("knowledge/", include("mesoclinic.knowledge.urls")),
    path("audit/", include("mesoclinic.oversight.urls")),
    path("staff/", include("mesoclinic.staff.urls")),
    path("api/v1/", api.urls),
]
