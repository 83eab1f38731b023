"""The Users and Groups tabs of Manage Classworks. Each view is scoped to `request.district`."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.permissions import district_admin_required
from imports.pipeline.classify import ExistingUser, existing_user_warnings
from imports.types import USER_DATA
from schools.selectors import school_list

from . import selectors, services
from .forms import GroupNameForm, MemberAddForm, UserEditForm, UserFilterForm, user_field_rows
from .models import AuditAction
from .protection import is_protected

MEMBERS_PER_PAGE = 100
HISTORY_SHOWN = 100
SAVED = "Saved {name}: {fields}."
NOTHING_CHANGED = "Nothing was changed."
DISABLED = "{name} is disabled and can no longer sign in."
ENABLED = "{name} is enabled and can sign in again."
LINK_SENT = "A set-password link was sent to {name}'s email address."
GROUP_CREATED = 'Group "{name}" created.'
GROUP_RENAMED = 'Group renamed to "{name}".'
GROUP_DELETED = 'Group "{name}" deleted; its members were not changed.'
MEMBER_ADDED = "{name} added to the group."
MEMBER_REMOVED = "{name} removed from the group."


def _user_or_404(request, user_id: int):
    user = selectors.user_get(district=request.district, pk=user_id)
    if user is None:
        raise Http404("No such user.")
    return user


def _group_or_404(request, group_id: int):
    group = selectors.custom_group_get(district=request.district, pk=group_id)
    if group is None:
        raise Http404("No such group.")
    return group


def _int(text) -> int | None:
    return int(text) if text and str(text).isdecimal() and len(str(text)) < 19 else None


def _name(user) -> str:
    return user.full_name or user.username


@district_admin_required
def user_list(request):
    """Search, filter and page the district's users."""
    schools = list(school_list(district=request.district))
    form = UserFilterForm(request.GET or None, schools=schools)
    page = selectors.user_page(
        district=request.district, filters=form.filters(),
        after=_int(request.GET.get("after")), before=_int(request.GET.get("before")),
    )
    services.audit_event_record(action=AuditAction.VIEW_USERS, request=request, detail={
        "searched": bool(form.is_bound and form.is_valid() and any(form.cleaned_data.values())), "shown": len(page.users)})
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return render(request, "users/user_list.html", {
        "tab": "users", "form": form, "page": page, "query": query.urlencode(), "count_text": f"{page.count:,}",
        "searched": bool(form.is_bound and form.is_valid() and any(form.cleaned_data.values())),
    })


@district_admin_required
def user_detail(request, user_id: int):
    """Every field of one user, the imports that created or changed them, their groups and history."""
    user = _user_or_404(request, user_id)
    services.audit_event_record(action=AuditAction.VIEW_USER, request=request, subject_user=user)
    created, changes = selectors.user_imports(district=request.district, user=user)
    return render(request, "users/user_detail.html", {
        "tab": "users", "subject": user, "created_by": created, "changes": changes,
        "groups": user.custom_groups.filter(district=request.district).order_by("name"),
        # Reverse relations of the classes app: the classes they teach and the classes they are enrolled in.
        "classes_taught": user.teaching.filter(school_class__district=request.district).select_related("school_class").order_by("school_class__name"),
        "classes_enrolled": user.enrollments.filter(school_class__district=request.district).select_related("school_class").order_by("school_class__name"),
        "history": selectors.user_history(district=request.district, user=user, limit=HISTORY_SHOWN),
        "field_rows": user_field_rows(user),
        "is_admin_account": is_protected(user),
    })


@district_admin_required
def user_edit(request, user_id: int):
    """Edit one user's fields under the import's rules; administrators' accounts are refused."""
    user = _user_or_404(request, user_id)
    if is_protected(user):
        messages.error(request, services.ERROR_ADMIN_ACCOUNT)
        return redirect("users:detail", user_id=user.pk)
    schools = school_list(district=request.district)
    if request.method != "POST":
        services.audit_event_record(action=AuditAction.VIEW_USER_EDIT, request=request, subject_user=user)
        form = UserEditForm(initial=UserEditForm.initial_for(user), schools=schools)
        return render(request, "users/user_edit.html", {"tab": "users", "subject": user, "form": form})
    form = UserEditForm(request.POST, schools=schools)
    if form.is_valid():
        old_type = user.user_type
        try:
            changed = services.user_update(user=user, values=form.values(), request=request)
        except services.UserError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if changed:
                headings = ", ".join(USER_DATA.by_key[services.IMPORT_KEYS.get(k, k)].heading for k in changed)
                messages.success(request, SAVED.format(name=_name(user), fields=headings))
            else:
                messages.info(request, NOTHING_CHANGED)
            existing = ExistingUser(id=user.pk, district_user_id=user.district_user_id or "", values={"user_type": old_type})
            for issue in existing_user_warnings(form.row, existing, labels={}):
                messages.warning(request, f"{issue.message} {issue.suggestion}")
            return redirect("users:detail", user_id=user.pk)
    return render(request, "users/user_edit.html", {"tab": "users", "subject": user, "form": form}, status=200)


@district_admin_required
@require_POST
def user_active(request, user_id: int):
    """Disable (active=0) or enable (active=1) the user."""
    user = _user_or_404(request, user_id)
    active = request.POST.get("active") == "1"
    try:
        services.user_active_set(user=user, active=active, request=request)
    except services.UserError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, (ENABLED if active else DISABLED).format(name=_name(user)))
    return redirect("users:detail", user_id=user.pk)


@district_admin_required
@require_POST
def user_password_link(request, user_id: int):
    """Email a staff member a new set-password link."""
    user = _user_or_404(request, user_id)
    try:
        services.user_password_link_send(user=user, request=request)
    except services.UserError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, LINK_SENT.format(name=_name(user)))
    return redirect("users:detail", user_id=user.pk)


@district_admin_required
def group_list(request):
    """The district's custom groups with their member counts, and a form to create one."""
    form = GroupNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.custom_group_create(district=request.district, name=form.cleaned_data["name"])
        except services.UserError as error:
            form.add_error("name", error.message)
        else:
            services.audit_event_record(action=AuditAction.CREATE_GROUP, request=request, detail={"group": group.pk})
            messages.success(request, GROUP_CREATED.format(name=group.name))
            return redirect("users:group_detail", group_id=group.pk)
    groups = selectors.custom_group_list_with_counts(district=request.district)
    return render(request, "users/group_list.html", {"tab": "groups", "groups": groups, "form": form})


@district_admin_required
def group_detail(request, group_id: int):
    """The group's members, with forms to add and remove members, rename and delete."""
    group = _group_or_404(request, group_id)
    return _group_page(request, group)


def _group_page(request, group, *, rename_form=None, add_form=None, status=200):
    page = Paginator(selectors.custom_group_members(group=group), MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    services.audit_event_record(action=AuditAction.VIEW_GROUP, request=request,
                                detail={"group": group.pk, "page": page.number, "shown": len(page.object_list)})
    return render(request, "users/group_detail.html", {
        "tab": "groups", "group": group, "page": page,
        "rename_form": rename_form or GroupNameForm(initial={"name": group.name}),
        "add_form": add_form or MemberAddForm(),
    }, status=status)


@district_admin_required
@require_POST
def group_rename(request, group_id: int):
    group = _group_or_404(request, group_id)
    form = GroupNameForm(request.POST)
    form.is_valid()
    try:
        services.custom_group_rename(group=group, name=form.cleaned_data.get("name") or "")
    except services.UserError as error:
        group.refresh_from_db()
        form.add_error("name", error.message)
        return _group_page(request, group, rename_form=form)
    services.audit_event_record(action=AuditAction.RENAME_GROUP, request=request, detail={"group": group.pk})
    messages.success(request, GROUP_RENAMED.format(name=group.name))
    return redirect("users:group_detail", group_id=group.pk)


@district_admin_required
def group_delete(request, group_id: int):
    """GET asks for confirmation; POST deletes the group."""
    group = _group_or_404(request, group_id)
    if request.method != "POST":
        return render(request, "users/group_delete.html", {"tab": "groups", "group": group, "member_count": group.members.count()})
    group_id = group.pk
    try:
        services.custom_group_delete(group=group)
    except services.UserError as error:
        messages.error(request, error.message)
        return redirect("users:group_detail", group_id=group.pk)
    services.audit_event_record(action=AuditAction.DELETE_GROUP, request=request, detail={"group": group_id})
    messages.success(request, GROUP_DELETED.format(name=group.name))
    return redirect("users:groups")


@district_admin_required
@require_POST
def group_member_add(request, group_id: int):
    group = _group_or_404(request, group_id)
    form = MemberAddForm(request.POST)
    form.is_valid()
    try:
        user = services.custom_group_member_add(group=group, identifier=form.cleaned_data.get("identifier") or "")
    except services.UserError as error:
        form.add_error("identifier", error.message)
        return _group_page(request, group, add_form=form)
    services.audit_event_record(action=AuditAction.ADD_GROUP_MEMBER, request=request, subject_user=user,
                                detail={"group": group.pk})
    messages.success(request, MEMBER_ADDED.format(name=_name(user)))
    return redirect("users:group_detail", group_id=group.pk)


@district_admin_required
@require_POST
def group_member_remove(request, group_id: int):
    group = _group_or_404(request, group_id)
    user = services.custom_group_member_remove(group=group, user_id=_int(request.POST.get("user_id")) or 0)
    if user is not None:
        services.audit_event_record(action=AuditAction.REMOVE_GROUP_MEMBER, request=request, subject_user=user,
                                    detail={"group": group.pk})
        messages.success(request, MEMBER_REMOVED.format(name=_name(user)))
    return redirect("users:group_detail", group_id=group.pk)
