"""Writes to classes from the Classes tab. Each is logged on the class's history."""
from django.db import transaction

from users.models import User

from .models import ClassChange, ClassChangeKind, ClassStudent, ClassTeacher, RosterRole, SchoolClass

ERROR_SIS_ID_TAKEN = "Another class of the district has the SIS ID {sis_id}."
ERROR_NO_SUCH_PERSON = "There is no teacher or student with District ID {district_id} in your district."
ERROR_WRONG_ROLE_STUDENT = "{district_id} is a staff member: add them as a teacher."
ERROR_WRONG_ROLE_TEACHER = "{district_id} is a student: add them as a student."
EDITABLE = ("name", "school", "sis_id", "course_name", "course_number", "subject", "term_name", "term_start", "term_end")


class ClassRefused(Exception):
    """A change to a class that cannot be made; the message is for the administrator."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _log(school_class: SchoolClass, kind: str, actor, **extra) -> None:
    ClassChange.objects.create(district_id=school_class.district_id, school_class=school_class, class_sis_id=school_class.sis_id,
                               kind=kind, actor=actor, **extra)


def _shown(value):
    return value.isoformat() if hasattr(value, "isoformat") else (value.pk if hasattr(value, "pk") else value)


@transaction.atomic
def school_class_save(*, district, actor, values: dict, school_class: SchoolClass | None = None) -> SchoolClass:
    """Create a class, or change one; the history keeps each field's before and after."""
    taken = SchoolClass.objects.filter(district=district, sis_id=values["sis_id"])
    if school_class is not None:
        taken = taken.exclude(pk=school_class.pk)
    if taken.exists():
        raise ClassRefused(ERROR_SIS_ID_TAKEN.format(sis_id=values["sis_id"]), "sis_id_taken")
    if school_class is None:
        school_class = SchoolClass.objects.create(district=district, **values)
        _log(school_class, ClassChangeKind.CREATED, actor)
        return school_class
    changed = {k: [_shown(getattr(school_class, k)), _shown(v)] for k, v in values.items() if getattr(school_class, k) != v}
    if changed:
        for k, v in values.items():
            setattr(school_class, k, v)
        school_class.save()
        _log(school_class, ClassChangeKind.UPDATED, actor, fields=changed)
    return school_class


@transaction.atomic
def school_class_set_active(*, school_class: SchoolClass, actor, active: bool) -> None:
    """Deactivate (kept, with its roster) or activate again."""
    if school_class.active != active:
        school_class.active = active
        school_class.save(update_fields=["active", "updated_at"])
        _log(school_class, ClassChangeKind.ACTIVATED if active else ClassChangeKind.DEACTIVATED, actor)


@transaction.atomic
def school_class_delete(*, school_class: SchoolClass, actor) -> None:
    """Delete a class and its roster; the district's log keeps that it was deleted."""
    ClassChange.objects.create(district_id=school_class.district_id, class_sis_id=school_class.sis_id,
                               kind=ClassChangeKind.DELETED, actor=actor)
    school_class.delete()


@transaction.atomic
def school_class_member_add(*, school_class: SchoolClass, actor, district_id: str, role: str) -> User:
    """Add a teacher (the first is primary) or a student by District ID."""
    user = User.objects.filter(district_id=school_class.district_id, district_user_id=district_id.strip()).first()
    if user is None:
        raise ClassRefused(ERROR_NO_SUCH_PERSON.format(district_id=district_id.strip()), "no_such_person")
    if role == RosterRole.TEACHER:
        if user.user_type == "student":
            raise ClassRefused(ERROR_WRONG_ROLE_TEACHER.format(district_id=user.district_user_id), "student_as_teacher")
        primary = not ClassTeacher.objects.filter(school_class=school_class).exists()
        _, made = ClassTeacher.objects.get_or_create(school_class=school_class, user=user, defaults={"is_primary": primary})
    else:
        if user.user_type != "student":
            raise ClassRefused(ERROR_WRONG_ROLE_STUDENT.format(district_id=user.district_user_id), "staff_as_student")
        _, made = ClassStudent.objects.get_or_create(school_class=school_class, user=user)
    if made:
        _log(school_class, ClassChangeKind.MEMBER_ADDED, actor, user=user, district_user_id=user.district_user_id or "", role=role)
    return user


@transaction.atomic
def school_class_member_remove(*, school_class: SchoolClass, actor, user_id: int) -> User | None:
    """Remove a teacher or student from the class; None when they were not in it."""
    for model, role in ((ClassTeacher, RosterRole.TEACHER), (ClassStudent, RosterRole.STUDENT)):
        link = model.objects.filter(school_class=school_class, user_id=user_id).select_related("user").first()
        if link is not None:
            link.delete()
            _log(school_class, ClassChangeKind.MEMBER_REMOVED, actor, user=link.user,
                 district_user_id=link.user.district_user_id or "", role=role, is_primary=getattr(link, "is_primary", False))
            return link.user
    return None
