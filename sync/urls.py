from django.urls import path

from . import views

app_name = "sync"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("now/", views.sync_now, name="now"),
    path("test/", views.test_connection, name="test"),
]
