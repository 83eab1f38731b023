from django.urls import path

from . import views

app_name = "classes"
urlpatterns = [
    path("classes/", views.class_list, name="list"),
    path("classes/new/", views.class_create, name="create"),
    path("classes/<int:class_id>/", views.class_detail, name="detail"),
    path("classes/<int:class_id>/edit/", views.class_edit, name="edit"),
    path("classes/<int:class_id>/active/", views.class_active, name="active"),
    path("classes/<int:class_id>/delete/", views.class_delete, name="delete"),
    path("classes/<int:class_id>/members/", views.class_member_add, name="member_add"),
    path("classes/<int:class_id>/members/remove/", views.class_member_remove, name="member_remove"),
]
