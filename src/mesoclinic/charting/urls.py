from django.urls import path

from mesoclinic.charting import views

app_name = "charting"
urlpatterns = [
    path("<uuid:public_id>/sessions/start/", views.start, name="start"),
    path("<uuid:public_id>/sessions/allergy-test/", views.allergy_test, name="allergy-test"),
    path("<uuid:public_id>/sessions/cream/", views.cream, name="cream"),
    path("<uuid:public_id>/sessions/rescreen/", views.rescreen, name="rescreen"),
    path("<uuid:public_id>/sessions/<uuid:session_id>/", views.session_page, name="session"),
    path("<uuid:public_id>/sessions/<uuid:session_id>/sign/", views.sign, name="sign"),
    path("<uuid:public_id>/sessions/<uuid:session_id>/amend/", views.amend, name="amend"),
    path("<uuid:public_id>/sessions/<uuid:session_id>/aftercare.pdf", views.aftercare_pdf,
         name="aftercare-pdf"),
    path("<uuid:public_id>/sessions/<uuid:session_id>/aftercare/send/", views.aftercare_send,
         name="aftercare-send"),
]

recall_patterns = (
    [
        path("<uuid:lot_id>/", views.recall_list, name="list"),
        path("<uuid:lot_id>/patients.csv", views.recall_csv, name="csv"),
    ],
    "recalls",
)
