"""One's own preferences, for every staff member: the language of the pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from mesoclinic.accounts.preferences import set_language
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.principal import Principal
from mesoclinic.kernel.views import signed_in_view


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"), required=False,
        # Each language named in itself, whatever the page's language.
        choices=[("", _("The clinic's language")),
                 *((code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES)],
        help_text=_("The language Mesoclinic's pages use for you."),
    )


@require_http_methods(["GET", "POST"])
@signed_in_view
def preferences(request: ClinicRequest) -> HttpResponseBase:
    form = LanguageForm(request.POST if request.method == "POST" else None,
                        initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        assert request.clinic is not None  # noqa: S101 (signed_in_view checks)
        set_language(request.user, language=form.cleaned_data["language"],
                     actor=Principal.for_request(request).actor,
                     clinic_id=str(request.clinic.public_id))
        # The header's menu returns to the page it was on. The Referer, not a field in the page:
        # every page would otherwise carry its own address (a 404 must not differ from a 404).
        back = request.headers.get("referer", "")
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            return redirect(back)
        return redirect("staff:preferences")
    response: HttpResponse = render(request, "staff/preferences.html", {"form": form},
                                    status=422 if form.errors else 200)
    return response
