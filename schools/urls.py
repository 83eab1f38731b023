from django.urls import path

from . import views

app_name = "manage"
urlpatterns = [
    path("", views.manage_home, name="home"),
    path("schools/", views.school_list, name="schools"),
]
