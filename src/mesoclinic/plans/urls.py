from django.urls import path

from mesoclinic.plans import consent_views, quote_views, views

app_name = "plans"
urlpatterns = [
    path("<uuid:public_id>/plans/new/", views.new_plan, name="new"),
    path("<uuid:public_id>/plans/check/", views.check_plan, name="check"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/", views.plan_detail, name="detail"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/edit/", views.edit_plan, name="edit"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/approve/", views.approve_plan, name="approve"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/move/", views.move_plan, name="move"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/quotes/new/", quote_views.new_quote,
         name="quote-new"),
    path("<uuid:public_id>/plans/<uuid:plan_id>/consent/", consent_views.sign, name="consent-sign"),
    path("<uuid:public_id>/consents/<uuid:consent_id>/pdf/", consent_views.consent_pdf,
         name="consent-pdf"),
    path("<uuid:public_id>/consents/<uuid:consent_id>/withdraw/", consent_views.withdraw,
         name="consent-withdraw"),
    path("<uuid:public_id>/quotes/<uuid:quote_id>/", quote_views.quote_detail, name="quote"),
    path("<uuid:public_id>/quotes/<uuid:quote_id>/pdf/", quote_views.quote_pdf, name="quote-pdf"),
    path("<uuid:public_id>/quotes/<uuid:quote_id>/accept/", quote_views.accept_quote,
         name="quote-accept"),
]
