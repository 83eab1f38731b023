from django.urls import path

from . import views

app_name = "users"
urlpatterns = [
    path("users/", views.user_list, name="list"),
    path("users/<int:user_id>/", views.user_detail, name="detail"),
    path("users/<int:user_id>/edit/", views.user_edit, name="edit"),
    path("users/<int:user_id>/active/", views.user_active, name="active"),
    path("users/<int:user_id>/password-link/", views.user_password_link, name="password_link"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<int:group_id>/", views.group_detail, name="group_detail"),
    path("groups/<int:group_id>/rename/", views.group_rename, name="group_rename"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path("groups/<int:group_id>/members/", views.group_member_add, name="group_member_add"),
    path("groups/<int:group_id>/members/remove/", views.group_member_remove, name="group_member_remove"),
]
