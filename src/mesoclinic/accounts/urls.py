from django.urls import path

from mesoclinic.accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="login"),
    path("sign-in/code/", views.two_factor, name="two-factor"),
    path("sign-in/enrol/", views.enrol, name="enrol"),
    path("recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("recovery-codes/new/", views.regenerate_recovery_codes, name="regenerate-recovery-codes"),
    path("reauth/", views.reauth, name="reauth"),
    path("sign-out/", views.sign_out, name="logout"),
    path("sign-out/everywhere/", views.sign_out_everywhere, name="logout-everywhere"),
    path("clinic/", views.switch_clinic, name="switch-clinic"),
]
