"""How fast the Users list answers for a district with a million users, on PostgreSQL.

    .venv/bin/python bench/users_list_bench.py \\
        [--database-url postgres://postgres@127.0.0.1:5432/cw_users_bench] [--users 1000000] [--repeat 7] [--keep | --reuse]

The database is dropped, created and migrated (with the list's indexes), then one district's
users are loaded with COPY and ANALYZEd. Each scenario is a full GET of the Users page through
Django's test client, signed in as the district's admin: the view, every query and the
template ("db ms" is the part spent in queries). The first request of a scenario warms the cache and is not counted; the median and
the slowest of the next --repeat requests are printed, with the number of queries. The
database is dropped at the end unless --keep; --reuse measures a kept one again without loading.
"""
import argparse
import importlib
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.database import drop_database, recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cw_users_bench"
SCHOOLS = 60
STAFF_SHARE = 0.06
DISABLED_SHARE = 0.002
GRADES = ("PK", "K", *(str(n) for n in range(1, 13)))
FIRST = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Benjamin", "Mia", "Lucas",
    "Charlotte", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Jacob", "Abigail", "Michael", "Emily",
    "Daniel", "Ella", "Henry", "Avery", "Jackson", "Scarlett", "Sebastian", "Grace", "Aiden", "Lily", "Matthew",
    "Aria", "Samuel", "Chloe", "David", "Layla", "Joseph", "Riley", "Carter", "Nora", "Owen", "Zoey", "Wyatt",
)
COMMON_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
)
SYLLABLES = ("ka", "lo", "mi", "ra", "ton", "ber", "son", "vi", "del", "mar", "quez", "ley", "an", "ow", "ski", "ric")


def _last_names(rng: random.Random) -> list[str]:
    """20 common surnames (a third of the district) and about 4,000 rarer made-up ones."""
    rare = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize() for _ in range(6000)})
    return list(COMMON_LAST) * 100 + rare






def load_users(*, district, schools, count: int, seed: int) -> float:
    """COPY `count` users into the district; returns the seconds it took."""
    from django.db import connection

    from imports.services.writers import copy_rows
    from users.models import User

    rng = random.Random(seed)
    last_names = _last_names(rng)
    columns = (
        "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
        "date_joined", "district_id", "district_user_id", "user_type", "middle_name", "grade", "school_id",
        "state_user_id", "alternate_user_id", "limited_english", "economically_disadvantaged", "is_district_admin",
    )
    started = time.perf_counter()
    batch = 100_000
    with connection.cursor() as cursor:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(count, start + batch)):
                first, last = rng.choice(FIRST), rng.choice(last_names)
                staff = rng.random() < STAFF_SHARE
                district_id = f"{n + 1:07d}" if not staff else f"T{n + 1:06d}"
                rows.append((
                    "!", False, f"{district.slug}-{district_id}".lower(), first, last,
                    f"{first}.{last}.{n}@bench-usd.example".lower(), False, rng.random() >= DISABLED_SHARE,
                    "2024-08-01 00:00:00+00", district.id, district_id, "staff" if staff else "student", "",
                    "" if staff else rng.choice(GRADES), rng.choice(schools).id, "", "", False, False, False,
                ))
            copy_rows(cursor.cursor, User._meta.db_table, columns, rows)
        cursor.execute(f"ANALYZE {User._meta.db_table}")
    return time.perf_counter() - started


def measure(client, url: str, repeat: int) -> tuple[float, float, float, int, int]:
    """(median ms, slowest ms, median ms in the database, queries, rows shown) of `repeat` GETs after one warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, db_times = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        db_times.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
    rows = response.content.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<a href=\"/manage/users/")
    return statistics.median(times), max(times), statistics.median(db_times), len(queries), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Measure a database kept by --keep; load nothing.")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "classworks_import.settings.test"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    if not args.reuse:
        recreate_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from schools.models import District, School
    from users.models import User
    from users.tests.factories import make_admin

    try:
        if args.reuse:
            district = District.objects.get(slug="bench")
            schools = list(School.objects.filter(district=district).order_by("sis_id"))
            admin = User.objects.get(district=district, is_district_admin=True)
            args.users = User.objects.filter(district=district, is_district_admin=False).count()
        else:
            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            print(f"migrate: {time.perf_counter() - started:.1f} s")
            district = District.objects.create(slug="bench", name="Bench Unified", timezone="America/Chicago")
            schools = [School.objects.create(district=district, sis_id=f"{n:03d}", name=f"School {n:03d}") for n in range(SCHOOLS)]
            # COPY into the table without the list's indexes, then build them as migration 0003 does:
            # faster, and it measures what that migration costs on a table this size.
            list_indexes = importlib.import_module("users.migrations.0004_users_groups_list_indexes")
            with connection.schema_editor(atomic=False) as editor:
                list_indexes.drop(None, editor)
            seconds = load_users(district=district, schools=schools, count=args.users, seed=args.seed)
            print(f"COPY of {args.users:,} users and ANALYZE: {seconds:.1f} s")
            started = time.perf_counter()
            with connection.schema_editor(atomic=False) as editor:
                list_indexes.create(None, editor)
            print(f"migration 0003 (the list's indexes) on {args.users:,} users: {time.perf_counter() - started:.1f} s")
            admin = make_admin(district, last_name="Admin")
        client = Client()
        client.force_login(admin)

        middle = User.objects.filter(district=district).order_by("last_name", "first_name", "pk").values_list("pk", flat=True)[args.users // 2]
        sample = User.objects.filter(district=district, user_type="student").order_by("pk")[args.users // 3]
        scenarios = [
            ("unsearched, first page", {}),
            ("unsearched, page in the middle (keyset)", {"after": middle}),
            ("search: common last name 'smi'", {"q": "smi"}),
            ("search: one letter 's'", {"q": "s"}),
            ("search: rare full name", {"q": f"{sample.first_name} {sample.last_name}"}),
            ("search: District ID prefix", {"q": sample.district_user_id[:5]}),
            ("search: exact District ID", {"q": sample.district_user_id}),
            ("search: email prefix", {"q": sample.email.split("@")[0][:12]}),
            ("search: username", {"q": sample.username}),
            ("search: no match", {"q": "qqqzzz"}),
            ("filter: school", {"school": schools[7].id}),
            ("filter: grade 5, active", {"grade": "5", "active": "yes"}),
            ("filter: staff", {"user_type": "staff"}),
            ("filter: disabled", {"active": "no"}),
            ("search 'smi' + school + grade", {"q": "smi", "school": schools[7].id, "grade": "5"}),
        ]
        print(f"\nUsers list, one district with {args.users:,} users, {args.repeat} requests each after a warm-up")
        print(f"{'scenario':44} {'median ms':>9} {'max ms':>7} {'db ms':>6} {'queries':>7} {'rows':>5}")
        worst = 0.0
        for name, params in scenarios:
            url = "/manage/users/" + (f"?{urlencode(params)}" if params else "")
            median, slowest, db, queries, rows = measure(client, url, args.repeat)
            worst = max(worst, median)
            print(f"{name:44} {median:9.1f} {slowest:7.1f} {db:6.1f} {queries:7d} {rows:5d}")
        print(f"\nslowest median: {worst:.1f} ms")
    finally:
        if not args.keep:
            drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
