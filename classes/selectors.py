"""Reads of classes. Every selector a view uses takes the district: another district's class is not found."""
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from .models import ClassChange, ClassStudent, ClassTeacher, SchoolClass

PAGE_SIZE = 50


def school_class_get(*, district, pk: int) -> SchoolClass | None:
    return SchoolClass.objects.filter(district=district, pk=pk).select_related("school", "created_by_import").first()


def school_class_list(*, district, search: str = "", school_id: int | None = None) -> QuerySet[SchoolClass]:
    """The district's classes by name, SIS ID or a teacher's name or District ID, and by school."""
    classes = SchoolClass.objects.filter(district=district)
    if school_id:
        classes = classes.filter(school_id=school_id)
    search = search.strip()
    if search:
        teacher = ClassTeacher.objects.filter(school_class=OuterRef("pk")).filter(
            Q(user__last_name__icontains=search) | Q(user__first_name__icontains=search) | Q(user__district_user_id=search)
        )
        classes = classes.filter(Q(name__icontains=search) | Q(sis_id__iexact=search) | Exists(teacher))
    return classes.order_by("name", "id")


@dataclass
class ClassPage:
    items: list
    has_next: bool
    has_previous: bool
    after: int | None
    before: int | None


def school_class_page(*, district, search: str = "", school_id: int | None = None, page: int = 1) -> ClassPage:
    """One page of the list, with each class's school and member counts; no COUNT(*) of the whole district.

    The page's rows come first (the district-and-name index), then the counts of those rows only.
    """
    page = max(page, 1)
    start = (page - 1) * PAGE_SIZE
    rows = list(school_class_list(district=district, search=search, school_id=school_id).select_related("school")
                [start:start + PAGE_SIZE + 1])
    items = rows[:PAGE_SIZE]
    ids = [c.pk for c in items]
    counts = {}
    for model, attr in ((ClassTeacher, "teachers"), (ClassStudent, "students")):
        counts[attr] = dict(model.objects.filter(school_class_id__in=ids).values_list("school_class_id").annotate(n=Count("id")))
    for c in items:
        c.teachers, c.students = counts["teachers"].get(c.pk, 0), counts["students"].get(c.pk, 0)
    return ClassPage(items, len(rows) > PAGE_SIZE, page > 1, page + 1, page - 1)


def school_class_teachers(*, school_class: SchoolClass):
    return ClassTeacher.objects.filter(school_class=school_class).select_related("user", "added_by_import").order_by(
        "-is_primary", "user__last_name", "user__first_name")


def school_class_students(*, school_class: SchoolClass):
    return ClassStudent.objects.filter(school_class=school_class).select_related("user", "added_by_import").order_by(
        "user__last_name", "user__first_name")


def school_class_history(*, school_class: SchoolClass, limit: int = 100):
    return ClassChange.objects.filter(school_class=school_class).select_related("job", "actor")[:limit]


def user_classes(*, district, user) -> QuerySet[SchoolClass]:
    """The classes a user teaches or is enrolled in."""
    return SchoolClass.objects.filter(district=district).filter(
        Q(teacher_links__user=user) | Q(student_links__user=user)
    ).distinct().select_related("school").order_by("name")


def class_export_rows(*, district):
    """(Class SIS ID, Class Name, School SIS ID, teacher District IDs, student District IDs) per class, by SIS ID."""
    teachers: dict[int, list[str]] = {}
    students: dict[int, list[str]] = {}
    for model, into in ((ClassTeacher, teachers), (ClassStudent, students)):
        for class_id, district_id in model.objects.filter(school_class__district=district).values_list(
            "school_class_id", "user__district_user_id"
        ).iterator(chunk_size=10000):
            into.setdefault(class_id, []).append(district_id or "")
    for class_id, sis_id, name, school_sis_id in SchoolClass.objects.filter(district=district).order_by("sis_id").values_list(
        "id", "sis_id", "name", "school__sis_id"
    ):
        yield sis_id, name, school_sis_id, sorted(teachers.get(class_id, [])), sorted(students.get(class_id, []))
