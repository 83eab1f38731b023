"""A district's roster as OneRoster JSON records, for the test server and (as CSV) the drop folder."""
import os
import tempfile
import zipfile

from sync.oneroster import write_bundle

SCHOOL_SIS_ID = "101"


def roster(n: int = 100, *, version: str = "1.1", changed=(), gone=(), staff: int = 0) -> dict[str, list[dict]]:
    """n students (and `staff` teachers) of one school; `changed` get a new first name, `gone` are left out."""
    orgs = [
        {"sourcedId": "org-d", "status": "active", "name": "Springfield", "type": "district", "identifier": "D1"},
        {"sourcedId": "org-s", "status": "active", "name": "Lincoln Elementary", "type": "school", "identifier": SCHOOL_SIS_ID,
         "parent": {"sourcedId": "org-d", "type": "org"}},
    ]
    users, demographics = [], []
    for i in range(n + staff):
        if i in gone:
            continue
        role = "student" if i < n else "teacher"
        user = {
            "sourcedId": f"u-{i}", "status": "active", "dateLastModified": "2024-08-01T00:00:00Z", "enabledUser": True,
            "username": "", "givenName": ("Renamed" if i in changed else "Ada"), "familyName": f"Family{i}", "middleName": "",
            "identifier": f"S{i:05d}", "email": "" if role == "student" else f"t{i}@springfield.example.org",
            "grades": ["05"] if role == "student" else [],
        }
        if version == "1.1":
            user.update(role=role, orgs=[{"sourcedId": "org-s", "type": "org"}])
        else:
            user.update(roles=[{"roleType": "primary", "role": role, "org": {"sourcedId": "org-s", "type": "org"}}],
                        primaryOrg={"sourcedId": "org-s", "type": "org"})
        users.append(user)
        demographics.append({"sourcedId": f"u-{i}", "status": "active", "birthDate": "2014-03-0%d" % (1 + i % 9), "sex": "female"})
    return {"orgs": orgs, "users": users, "demographics": demographics, "classes": [], "enrollments": []}


def roster_zip(records: dict, path, version: str = "1.1") -> str:
    """The roster as a OneRoster CSV zip, as an SIS drops it."""
    with tempfile.TemporaryDirectory() as workdir:
        files = write_bundle(records, workdir, version)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, file_path in files:
                z.write(file_path, name)
    return str(path)


def roster_folder(records: dict, folder, version: str = "1.1", marker: bool = True) -> str:
    """The roster as loose OneRoster CSV files in a folder (with its manifest.csv)."""
    os.makedirs(folder, exist_ok=True)
    write_bundle(records, str(folder), version)
    if marker:
        open(os.path.join(folder, ".done"), "w").close()
    return str(folder)
