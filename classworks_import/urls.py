from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from users import accounts

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="manage:home", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # "Forgot your password?" and the single-use "set your password" link in the staff login email.
    path("accounts/password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", accounts.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/reset/done/", accounts.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("manage/", include("schools.urls")),
    path("manage/", include("users.urls")),
    path("manage/", include("classes.urls")),
    path("imports/", include("imports.urls")),
    path("sync/", include("sync.urls")),
    path("ops-admin/", admin.site.urls),
]

handler400 = "imports.views.wizard.bad_request"
