"""The Classes tab of Manage Classworks. Each view is scoped to `request.district`."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.permissions import district_admin_required
from schools.models import School
from schools.selectors import school_list
from users.models import AuditAction
from users.services import audit_event_record

from . import selectors, services
from .forms import ClassFilterForm, ClassForm, MemberAddForm

SAVED = "Saved {name}."
DELETED = 'Class "{name}" deleted.'
DEACTIVATED = "{name} is deactivated."
ACTIVATED = "{name} is active again."
MEMBER_ADDED = "{name} added to the class."
MEMBER_REMOVED = "{name} removed from the class."


def _class_or_404(request, class_id: int):
    school_class = selectors.school_class_get(district=request.district, pk=class_id)
    if school_class is None:
        raise Http404("No such class.")
    return school_class


def _page_number(text) -> int:
    return int(text) if text and str(text).isdecimal() and len(str(text)) < 9 else 1


def _audit(request, action: str, school_class, **detail) -> None:
    audit_event_record(action=action, request=request, district=request.district,
                       detail={"class_id": school_class.pk, **detail})


@district_admin_required
def class_list(request):
    """Search by name, SIS ID or teacher; filter by school; a page at a time."""
    schools = list(school_list(district=request.district))
    form = ClassFilterForm(request.GET or None, schools=schools)
    page = selectors.school_class_page(district=request.district, page=_page_number(request.GET.get("page")), **form.filters())
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "classes/class_list.html", {"tab": "classes", "form": form, "page": page, "query": query.urlencode()})


@district_admin_required
def class_create(request):
    form = ClassForm(request.POST or None, schools=School.objects.filter(district=request.district))
    if request.method == "POST" and form.is_valid():
        try:
            school_class = services.school_class_save(district=request.district, actor=request.user, values=form.cleaned_data)
        except services.ClassRefused as refusal:
            form.add_error("sis_id", str(refusal))
        else:
            _audit(request, AuditAction.EDIT_CLASS, school_class, created=True)
            messages.success(request, SAVED.format(name=school_class.name))
            return redirect("classes:detail", class_id=school_class.pk)
    return render(request, "classes/class_form.html", {"tab": "classes", "form": form, "school_class": None})


@district_admin_required
def class_detail(request, class_id: int):
    """A class with its teachers, students and history."""
    school_class = _class_or_404(request, class_id)
    _audit(request, AuditAction.VIEW_CLASS, school_class)
    return render(request, "classes/class_detail.html", {
        "tab": "classes", "school_class": school_class, "add_form": MemberAddForm(),
        "teachers": selectors.school_class_teachers(school_class=school_class),
        "students": selectors.school_class_students(school_class=school_class),
        "history": selectors.school_class_history(school_class=school_class),
    })


@district_admin_required
def class_edit(request, class_id: int):
    school_class = _class_or_404(request, class_id)
    form = ClassForm(request.POST or None, instance=school_class, schools=School.objects.filter(district=request.district))
    if request.method == "POST" and form.is_valid():
        fresh = _class_or_404(request, class_id)  # the form wrote its values onto the instance
        try:
            services.school_class_save(district=request.district, actor=request.user, values=form.cleaned_data, school_class=fresh)
        except services.ClassRefused as refusal:
            form.add_error("sis_id", str(refusal))
        else:
            _audit(request, AuditAction.EDIT_CLASS, fresh)
            messages.success(request, SAVED.format(name=fresh.name))
            return redirect("classes:detail", class_id=fresh.pk)
    return render(request, "classes/class_form.html", {"tab": "classes", "form": form, "school_class": school_class})


@district_admin_required
@require_POST
def class_active(request, class_id: int):
    """Deactivate (active=0) or activate (active=1) the class."""
    school_class = _class_or_404(request, class_id)
    active = request.POST.get("active") == "1"
    services.school_class_set_active(school_class=school_class, actor=request.user, active=active)
    _audit(request, AuditAction.EDIT_CLASS, school_class, active=active)
    messages.success(request, (ACTIVATED if active else DEACTIVATED).format(name=school_class.name))
    return redirect("classes:detail", class_id=school_class.pk)


@district_admin_required
def class_delete(request, class_id: int):
    school_class = _class_or_404(request, class_id)
    if request.method != "POST":
        return render(request, "classes/class_delete.html", {"tab": "classes", "school_class": school_class})
    _audit(request, AuditAction.DELETE_CLASS, school_class)
    name = school_class.name
    services.school_class_delete(school_class=school_class, actor=request.user)
    messages.success(request, DELETED.format(name=name))
    return redirect("classes:list")


@district_admin_required
@require_POST
def class_member_add(request, class_id: int):
    school_class = _class_or_404(request, class_id)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            user = services.school_class_member_add(school_class=school_class, actor=request.user, **form.cleaned_data)
        except services.ClassRefused as refusal:
            messages.error(request, str(refusal))
        else:
            _audit(request, AuditAction.EDIT_CLASS, school_class, added_user=user.pk)
            messages.success(request, MEMBER_ADDED.format(name=user.full_name or user.username))
    else:
        messages.error(request, "Give the District ID of the teacher or student to add.")
    return redirect("classes:detail", class_id=school_class.pk)


@district_admin_required
@require_POST
def class_member_remove(request, class_id: int):
    school_class = _class_or_404(request, class_id)
    user_id = request.POST.get("user_id", "")
    user = services.school_class_member_remove(school_class=school_class, actor=request.user,
                                               user_id=int(user_id)) if user_id.isdecimal() and len(user_id) < 19 else None
    if user is not None:
        _audit(request, AuditAction.EDIT_CLASS, school_class, removed_user=user.pk)
        messages.success(request, MEMBER_REMOVED.format(name=user.full_name or user.username))
    return redirect("classes:detail", class_id=school_class.pk)
