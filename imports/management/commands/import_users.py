import json
import os
import sys
import tempfile

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imports.errors import Refusal
from imports.models import BundleRole, DistrictImportMemory, ImportStatus
from imports.formats import open_bundle
from imports.pipeline.mapping import (
    missing_required, propose_field_mapping, propose_file_fixed_values, propose_school_mapping,
)
from imports.pipeline.reading import inspect_file
from imports.selectors import school_choices
from imports.services import jobs, runs
from imports.services.apply import store_issues
from imports.services.jobs import with_bundle_mapping
from imports.services.sources import (
    NEW_SCHOOL,
    ImportOptions,
    Source,
    column_labels,
    sources_for_job,
)
from imports.pipeline.normalize import SKIP, Invalid
from imports.services.validation import BuiltRows, file_value_counts, validate_import
from imports.types import ALL_SPECS, CLASSES, get_spec_by_command_name
from imports.types.classes import ROSTER_ADD, ROSTER_REPLACE
from imports.formats import class_counts
from imports.services.classes import (
    bundle_class_blocks, classes_check, classes_check_keep, classes_compare, classes_summary, file_class_blocks,
)
from users.models import AuditAction
from users.selectors import custom_group_find, district_admin_find
from users.services import audit_event_record

from ._common import get_district, send_owed_emails


class _ProposedSchools(dict):
    """File value -> school id, proposed on first look-up, so the file is read once to both map and check it."""

    def __init__(self, given: dict, schools, remembered):
        super().__init__(given)
        self._schools, self._remembered = schools, remembered

    def get(self, value, default=None):
        if value not in self:
            school_id = propose_school_mapping([value], self._schools, remembered=self._remembered).get(value)
            if school_id is None:
                return default
            self[value] = school_id
        return self[value]


def _classes_tally(counts: dict) -> dict:
    """A Classes check's counts under the keys the tally line reads."""
    return {**counts, "created": counts.get("classes_created", 0), "updated": counts.get("classes_updated", 0),
            "unchanged": counts.get("classes_unchanged", 0), "conflicts": 0}


class _PathUpload(File):
    """A file on disk handed to the upload service without copying it first."""

    def temporary_file_path(self):
        return self.file.name


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for item in values:
        if "=" not in item:
            raise CommandError(f'{flag} takes "LEFT=RIGHT", got "{item}".')
        left, right = item.split("=", 1)
        out.append((left.strip(), right))
    return out


# The options of Additional Actions: (ImportSpec.options name, this command's dest, its flag, its default).
_ACTION_OPTIONS = (
    ("conflict_policy", "conflict", "--conflict", "imported"), ("password_policy", "password", "--password", "keep"),
    ("custom_group", "group", "--group", None), ("group_members", "group_members", "--group-members", "students"),
    ("email_staff", "email_staff", "--email-staff", False),
)
ERROR_OPTION_NOT_OF_TYPE = "{flag} does not apply to {label} imports."
ERROR_SET_SKIP = '--set {key}=skip: only these fields can skip rows: {fields}.'
SUGGESTION_NOT_APPLIED = (
    'Column "{column}" looks like {heading}; as in the wizard, a suggestion is not used by itself '
    '(--map "{column}={key}" to use it).'
)
SCHOOLS_UNMAPPED = (
    "No school for: {values}. Map each with --school-map FILE_VALUE=SCHOOL_SIS_ID, or create them with "
    "--create-schools (in the browser: School Mapping's Create school)."
)
# The wizard's suggestion names a step of the wizard; here, the options that do the same.
COMMAND_SUGGESTIONS = {
    "school_unmapped": "Map it with --school-map FILE_VALUE=SCHOOL_SIS_ID, or create the schools with --create-schools.",
}
COUNTS_LINE = (
    "rows {rows}, created {created}, updated {updated}, unchanged {unchanged}, skipped {skipped}, "
    "conflicts {conflicts}, errors {errors}, warnings {warnings}"
)
REFUSED = "refused: nothing was written, because of {errors} errors. Without them this run would have given: {tally}."
DRY_RUN = "dry_run: nothing was written. The run would give: {tally}."
SCHOOLS_PRINTED = 50  # the whole school mapping goes in --report
WRITTEN_STATUSES = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS, ImportStatus.RUNNING, ImportStatus.FAILED)


class Command(BaseCommand):
    help = (
        "Import users from SIS export files (.csv or .xlsx, or a OneRoster or School Data Sync upload as a .zip "
        "or its files) into a district: validate, preview, schedule or run."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--type", dest="import_type", choices=[s.command_name for s in ALL_SPECS], default=ALL_SPECS[0].command_name,
                            help="The import type: " + ", ".join(f"{s.command_name} ({s.label})" for s in ALL_SPECS) + ".")
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--description", default="")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="Submitting admin; gets the completion email.")
        parser.add_argument("--no-header", action="store_true", help="The files have no header row.")
        parser.add_argument("--map", action="append", default=[], metavar="HEADING_OR_COLUMN_NUMBER=field_key",
                            help="Match a column (heading, or number from 1) to a field, as Match does on Map Fields; "
                                 "a column may feed several fields. Aliases are only suggested until mapped.")
        parser.add_argument("--set", action="append", default=[], metavar="[FILE_NAME:]field_key=VALUE",
                            help="One value for every row of a field (empty VALUE = blank); overrides any match. "
                                 "With FILE_NAME (e.g. Teacher.csv:user_type=staff), for that file's rows only. "
                                 "VALUE skip (user_type=skip) skips those rows.")
        parser.add_argument("--school-map", action="append", default=[], metavar="FILE_VALUE=SCHOOL_SIS_ID")
        parser.add_argument("--value-map", action="append", default=[], metavar="field_key:FILE_VALUE=VALUE",
                            help="What a coded field's file value stands for (user_type:guardian=skip skips those rows). "
                                 "Without it, OneRoster roles, CEDS grades and Y/N spellings are mapped as suggested; "
                                 "a value with no suggestion stays an error.")
        parser.add_argument("--conflict", choices=["imported", "existing"], default="imported")
        parser.add_argument("--password", choices=["keep", "overwrite"], default="keep")
        parser.add_argument("--replace-claimed-passwords", action="store_true",
                            help="With --password overwrite, also replace the passwords of people who already sign in "
                                 "(each is told by email at their address).")
        parser.add_argument("--group", metavar="NAME", help="Add the users to this custom group of the district.")
        parser.add_argument("--group-members", choices=["students", "all"], default="students")
        parser.add_argument("--email-staff", action="store_true", help="Email staff their login information.")
        parser.add_argument("--create-schools", action="store_true",
                            help="Create the schools the files name that match no school of the district, as the wizard's Create school does.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and preview only; write nothing.")
        parser.add_argument("--now", action="store_true", help="Run at once in this process instead of off-peak.")
        parser.add_argument("--report", metavar="PATH", help="Write a JSON report here.")
        parser.add_argument("--roster", choices=[ROSTER_ADD, ROSTER_REPLACE], default=ROSTER_ADD,
                            help="Classes: add the file's members to each class, or replace each class's roster with the file's.")
        parser.add_argument("--no-classes", action="store_true", help="A roster upload's classes are not imported with its users.")

    def handle(self, *args, **opts):
        district = get_district(opts["district"])
        spec = get_spec_by_command_name(opts["import_type"])
        for option, dest, flag, default in _ACTION_OPTIONS:
            if option not in spec.options and opts[dest] != default:
                raise CommandError(ERROR_OPTION_NOT_OF_TYPE.format(flag=flag, label=spec.label))
        if opts["school_map"] and spec.lookup_field("schools") is None:
            raise CommandError(ERROR_OPTION_NOT_OF_TYPE.format(flag="--school-map", label=spec.label))
        admin = None
        if opts["as_user"]:
            admin = district_admin_find(district=district, username=opts["as_user"])
            if admin is None:
                raise CommandError(f'No district administrator "{opts["as_user"]}" in {district.slug}.')
        group = None
        if opts["group"]:
            group = custom_group_find(district=district, name=opts["group"])
            if group is None:
                raise CommandError(f'No custom group "{opts["group"]}" in {district.slug}.')

        for path in opts["files"]:
            if not os.path.isfile(path):
                raise CommandError(f"{path}: no such file.")
        with tempfile.TemporaryDirectory(prefix="bundle-") as workdir:
            uploads = [(os.path.basename(p), p) for p in opts["files"]]
            try:
                bundle = open_bundle(uploads, workdir)
                sources = self._sources(opts, bundle)
                class_files = bundle if bundle is not None and bundle.has_classes else None
            except Refusal as exc:
                raise CommandError(str(exc))
            if spec == CLASSES:
                return self._run_classes(district, admin, sources, class_files, opts)
            self._also_classes = self._bundle_classes(district, class_files, opts)
            return self._run(district, spec, admin, group, sources, bundle, opts)

    def _sources(self, opts, bundle) -> list[Source]:
        """The files the import reads: the given ones, or the user files made from a OneRoster/SDS upload."""
        if bundle is not None:
            return [Source(path=f.path, info=inspect_file(f.path, f.name, has_header=True)) for f in bundle.files]
        has_header = False if opts["no_header"] else None
        return [Source(path=p, info=inspect_file(p, os.path.basename(p), has_header=has_header)) for p in opts["files"]]

    def _run(self, district, spec, admin, group, sources, bundle, opts):
        if bundle is not None:
            self._describe_bundle(bundle)
        options = self._options(district, sources, opts, spec, bundle)
        used = self._describe_mapping(options)
        issues = []
        # The pass keeps its rows and verdicts for the run (as the wizard's does), so --now does not check twice.
        built = None if opts["dry_run"] else BuiltRows(None, sources, options, district=district)
        try:
            result = validate_import(
                district=district, sources=sources, options=options, issue_sink=issues.extend,
                record=built.record if built is not None else None, outcome_sink=built.mark if built is not None else None,
                screen=not (group or opts["email_staff"]),  # a run that needs every valid row is handed them all
            )
        except BaseException:
            if built is not None:
                built.discard()
            raise
        report = {
            "import_number": None, "status": "dry_run" if opts["dry_run"] else "refused", "written": False,
            "mapping": used, "counts": result.result_counts(),
            "errors": [self._entry(i) for i in issues if i.is_error],
            "warnings": [self._entry(i) for i in issues if not i.is_error],
        }
        if bundle is not None:
            report["bundle"] = bundle.summary()
        if opts["dry_run"] or result.has_errors:
            if built is not None:
                built.discard()
            return self._finish(report, opts, failed=result.has_errors)

        job = self._create_job(district, admin, group, sources, options, opts, result, issues, dispatch=not opts["now"],
                               bundle=bundle, built=built)
        if opts["now"]:
            job.run_after = timezone.now()
            job.save(update_fields=["run_after"])
            job = runs.import_job_run(job_id=job.id, queue_emails=False) or job
            send_owed_emails(job, self.stderr)
        report.update(import_number=job.number, status=job.status, written=job.status in WRITTEN_STATUSES)
        if job.status == ImportStatus.ON_HOLD:
            report["hold"] = job.hold_summary.get("reason", "")
        if job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS, ImportStatus.FAILED):
            report["counts"] = {**report["counts"], **job.counts}
        if job.status == ImportStatus.FAILED:
            self.stderr.write(job.failure_reason)
        return self._finish(report, opts, failed=job.status == ImportStatus.FAILED, job=job)

    def _describe_mapping(self, options: ImportOptions) -> dict:
        """Print the field, school and value mapping the run uses, as the wizard's Review lists them; returns it for --report."""
        spec = options.spec
        fields = {heading: column for heading, column in spec.headings_of(options.field_mapping)}
        fixed = {heading: value for heading, value in spec.headings_of(options.fixed_values)}
        file_fixed = {}
        for heading, value, name in spec.headings_of_files(options.file_fixed_values):
            file_fixed.setdefault(name, {})[heading] = value
        lines = [f"{heading} <- {column}" for heading, column in fields.items()]
        lines += [f"{heading} = {value or 'blank'} for every row" for heading, value in fixed.items()]
        lines += [f"{heading} = {value or 'blank'} for every row of {name}" for name, v in file_fixed.items() for heading, value in v.items()]
        self.stdout.write("Fields: " + "; ".join(lines) + ".")
        used = {"fields": fields, "fixed": fixed, "file_fixed": file_fixed}
        if spec.lookup_field("schools") is not None:
            schools = {}
            for value in self._school_values:
                school = self._schools.get(options.school_mapping.get(value))
                schools[value] = f"{school.name} ({school.sis_id})" if school else None
            if schools:
                shown = list(schools.items())[:SCHOOLS_PRINTED]
                more = f" ... and {len(schools) - len(shown)} more (see --report)" if len(schools) > len(shown) else ""
                self.stdout.write("Schools: " + "; ".join(f"{v} -> {s or 'no school'}" for v, s in shown) + more + ".")
            unmapped = [v for v, s in schools.items() if s is None]
            if unmapped:
                self.stderr.write(SCHOOLS_UNMAPPED.format(values=", ".join(unmapped[:10])))
            used["schools"] = schools
        values = {
            spec.heading(key): {value: ("Skip these rows" if target == SKIP else target) for value, target in chosen.items()}
            for key, chosen in options.value_mapping.items() if chosen and key in spec.by_key
        }
        if values:
            self.stdout.write("Values: " + "; ".join(
                f'{heading} "{value}" -> {target}' for heading, chosen in values.items() for value, target in chosen.items()
            ) + ".")
        used["values"] = values
        return used

    def _describe_bundle(self, bundle) -> None:
        self.stdout.write(f"{bundle.label}: District ID from {bundle.district_id_column}.")
        if bundle.not_imported:
            self.stdout.write("Not imported: " + ", ".join(bundle.not_imported) + ".")
        for person in bundle.skipped_people:
            self.stdout.write(f"  {person['file']} row {person['row']}: {person['name']} ({person['reason']})")
        for note in bundle.notes:
            self.stdout.write(note)
        if bundle.ignored_files:
            self.stdout.write("Ignored files: " + ", ".join(bundle.ignored_files) + ".")
        for warning in bundle.warnings[:50]:
            self.stderr.write(warning)

    def _options(self, district, sources, opts, spec, bundle=None) -> ImportOptions:
        labels = column_labels(sources)
        has_header = all(s.info.has_header for s in sources)
        memory = DistrictImportMemory.objects.filter(district=district).first()
        proposal = propose_field_mapping(
            labels, has_header=has_header, remembered=memory.field_mapping if memory else None, spec=spec
        )
        if bundle is not None:
            proposal = with_bundle_mapping(proposal, bundle.mapping, labels)
        # What the wizard matches by itself; its suggestions wait for the admin there, and for --map here.
        mapping = dict(proposal.matched)
        for column, key in _pairs(opts["map"], "--map"):
            if key not in spec.by_key:
                raise CommandError(f'--map: unknown field "{key}". Fields: {", ".join(spec.by_key)}.')
            label = labels[int(column) - 1] if column.isdigit() and 0 < int(column) <= len(labels) else column
            if label not in labels:
                raise CommandError(f'--map: no column "{column}" in the file(s).')
            mapping[key] = label  # a column may feed several fields (a username that is the email address)
        for key, label in proposal.suggestions.items():
            if key not in mapping:
                self.stdout.write(SUGGESTION_NOT_APPLIED.format(column=label, heading=spec.heading(key), key=key))
        fixed, file_fixed, skipped_by_set = {}, {}, set()
        names = [s.info.name for s in sources]
        for left, value in _pairs(opts["set"], "--set"):
            name, _, key = left.rpartition(":")
            if key not in spec.by_key:
                raise CommandError(f'--set: unknown field "{key}".')
            if value.strip().casefold() == SKIP:
                coding = spec.by_key[key].rule.coding
                if coding is None or not coding.can_skip:
                    skippable = ", ".join(f.key for f in spec.coded_fields if f.rule.coding.can_skip)
                    raise CommandError(ERROR_SET_SKIP.format(key=key, fields=skippable or "none"))
                value = SKIP
                skipped_by_set.add(key)  # the value mapping below sends "skip" to "skip these rows"
            if not name:
                fixed[key] = value
                continue
            name = os.path.basename(name)  # the file's name, whatever path was given
            if name not in names:
                raise CommandError(f'--set: no file named "{name}" among the files ({", ".join(names)}).')
            file_fixed.setdefault(name, {})[key] = value
        if spec.password_field in fixed or any(spec.password_field in v for v in file_fixed.values()):
            raise CommandError(jobs.ERROR_FIXED_PASSWORD)
        # What a file's name or headings say (Teacher.csv: staff) applies unless --set says otherwise.
        proposal = propose_file_fixed_values([(s.info.name, s.info.column_labels) for s in sources], mapping, fixed, spec)
        for name, values in proposal.items():
            for key, value in values.items():
                if key not in file_fixed.get(name, {}):
                    file_fixed.setdefault(name, {})[key] = value
                    self.stdout.write(
                        f"{name}: {spec.heading(key)} = {value} for every row, as its name or headings say "
                        f"(--set {name}:{key}=VALUE to change)."
                    )
        missing = missing_required(mapping, fixed, spec, file_fixed_values=file_fixed, file_names=names)
        if missing:
            raise CommandError(
                "Required fields have no column: " + ", ".join(spec.heading(k) for k in missing)
                + ". Use --map COLUMN=field_key or --set field_key=VALUE."
            )
        options = ImportOptions(
            field_mapping=mapping, fixed_values=fixed, file_fixed_values=file_fixed, conflict_policy=opts["conflict"], password_policy=opts["password"],
            spec=spec,
        )
        # One read of the files for both: their school values and their unrecognised coded values.
        school_values, coded_values = file_value_counts(sources, options, limit_schools=False)
        values = list(school_values)
        schools = school_choices(district=district)
        school_map = propose_school_mapping(
            values, schools, remembered=memory.school_mapping if memory else None,
            names=bundle.school_names if bundle is not None else None,
            not_k12=bundle.not_k12_schools if bundle is not None else (),
        )
        by_code = {s.sis_id: s.id for s in schools}
        for value, sis_id in _pairs(opts["school_map"], "--school-map"):
            if sis_id.casefold() == SKIP:  # skip these rows, as School Mapping offers
                school_map[value] = SKIP
                continue
            if sis_id not in by_code:
                raise CommandError(f'--school-map: no school with SIS ID "{sis_id}" in {district.slug}.')
            school_map[value] = by_code[sis_id]
        self._new_schools = {}
        if opts["create_schools"] and spec.lookup_field("schools") is not None:
            self._new_schools = self._planned_schools(values, school_map, bundle)
            school_map.update(dict.fromkeys(self._new_schools, NEW_SCHOOL))
        options.school_mapping = school_map
        self._school_values, self._schools = values, {s.id: s for s in schools}
        options.value_mapping = self._value_mapping(coded_values, options, opts, memory)
        for key in skipped_by_set:
            options.value_mapping.setdefault(key, {})[SKIP] = SKIP
        return options

    def _planned_schools(self, values, school_map, bundle) -> dict:
        """The schools to create: one per file value no school matches (a college or university is not K-12: none)."""
        names = bundle.school_names if bundle is not None else {}
        not_k12 = set(bundle.not_k12_schools) if bundle is not None else set()
        planned = {}
        for value in values:
            if value in school_map or value in not_k12 or not value.strip():
                continue
            planned[value] = {"name": (names.get(value) or value)[:200], "sis_id": value[:64]}
            self.stdout.write(f'School "{planned[value]["name"]}" (SIS ID {planned[value]["sis_id"]}) will be created.')
        return planned

    def _value_mapping(self, coded_values, options, opts, memory) -> dict:
        """Every unrecognised coded value: --value-map, else the district's last choice, else the suggestion."""
        spec = options.spec
        remembered = memory.value_mapping if memory else {}
        mapping: dict[str, dict[str, str]] = {}
        for key, values in coded_values.items():
            coding = spec.by_key[key].rule.coding
            for value in values:
                target = remembered.get(key, {}).get(value) or coding.suggest(value)
                if target:
                    mapping.setdefault(key, {})[value] = target
        for left, target in _pairs(opts["value_map"], "--value-map"):
            key, sep, value = left.partition(":")
            field = spec.by_key.get(key)
            if not sep or field is None or field.rule.coding is None:
                coded = ", ".join(f.key for f in spec.coded_fields)
                raise CommandError(f'--value-map takes "field_key:FILE_VALUE=VALUE" with a coded field ({coded}), got "{left}".')
            target = target.strip()
            if target.casefold() == SKIP and field.rule.coding.can_skip:
                target = SKIP
            elif not target or isinstance(field.rule.parse(target), Invalid):
                raise CommandError(f'--value-map: "{target}" is not a {field.heading} Classworks knows.')
            mapping.setdefault(key, {})[value.strip()] = target
        return mapping

    def _create_job(self, district, admin, group, sources, options, opts, result, issues, dispatch, bundle=None, built=None):
        job = jobs.import_job_create(
            district=district, created_by=admin, description=opts["description"], import_type=options.spec.import_type
        )
        # A OneRoster/SDS upload is stored as given; the upload service makes its user files again.
        given = opts["files"] if bundle is not None else [s.path for s in sources]
        uploads = [_PathUpload(open(path, "rb"), name=os.path.basename(path)) for path in given]
        # The pass has just read every row of a lone plain file: the upload need not count them again.
        counted = [result.counts["rows"]] if bundle is None and len(sources) == 1 else None
        try:
            jobs.import_files_add(job=job, uploads=uploads, has_header=False if opts["no_header"] else None, row_counts=counted)
        finally:
            for u in uploads:
                u.close()
        job.field_mapping = options.field_mapping
        job.fixed_values = options.fixed_values
        job.file_fixed_values = options.file_fixed_values
        job.school_mapping = {k: v for k, v in options.school_mapping.items() if v != NEW_SCHOOL}
        job.new_schools = self._new_schools  # created when the job is submitted, as the wizard's are
        job.value_mapping = options.value_mapping
        job.conflict_policy = options.conflict_policy
        job.password_policy = options.password_policy
        job.custom_group = group
        job.group_members = opts["group_members"]
        job.email_staff = opts["email_staff"]
        job.replace_claimed_passwords = opts["replace_claimed_passwords"]
        job.also_classes = bool(self._also_classes)
        job.validation_summary = result.summary()
        job.validated_at = timezone.now()
        job.save()
        if built is not None:
            job.built_rows_key = built.adopt(job, sources_for_job(job), ImportOptions.from_job(job))
            job.save(update_fields=["built_rows_key"])
        stored = {f.original_name: f.id for f in job.files.all() if f.bundle_role != BundleRole.MEMBER}
        store_issues(job, [Source(path="", info=s.info, file_id=stored.get(s.info.name)) for s in sources], issues)
        job = jobs.import_job_submit(job=job, dispatch=dispatch)
        audit_event_record(action=AuditAction.SUBMIT, actor=admin, job=job, detail={"source": "import_users"})
        return job

    # --- Classes ---

    def _bundle_classes(self, district, class_files, opts) -> dict | None:
        """A roster upload's classes, imported after its users unless --no-classes: (classes, enrollments)."""
        counts = None if opts["no_classes"] else class_counts(class_files)
        if counts:
            self.stdout.write(f"Also importing classes ({counts['classes']} classes, {counts['enrollments']} enrollments) after the users.")
        return counts

    def _run_classes(self, district, admin, sources, class_files, opts):
        if class_files is not None:
            if not class_files.has_classes:
                raise CommandError("The upload holds no classes (classes.csv and enrollments.csv, or Section.csv).")
            rows, mapping = (lambda: bundle_class_blocks(class_files)), {}
        else:
            mapping = self._classes_mapping(sources, opts)
            options = ImportOptions(field_mapping=mapping, spec=CLASSES)
            rows = lambda: file_class_blocks(sources, options)  # noqa: E731
        school_map = self._classes_school_map(district, opts)
        replace = opts["roster"] == ROSTER_REPLACE
        # A run at once compares with what is stored in its run, moments later: not twice.
        at_once = opts["now"] and not opts["dry_run"]
        check = classes_check(district=district, rows=rows, school_ids=school_map, replace=replace, columns=mapping,
                              compare=not at_once, kept=at_once)
        if not check.compared and check.plan.has_errors:  # refused: the report says what the run would have given
            check = classes_compare(district=district, check=check, replace=replace)
        school_map = dict(school_map)  # the values the file holds, each matched or not
        counts = check.counts()
        issues = check.plan.issues
        report = {
            "import_number": None, "status": "dry_run" if opts["dry_run"] else "refused",
            "counts": _classes_tally(counts),
            "errors": [self._entry(i) for i in issues if i.is_error],
            "warnings": [self._entry(i) for i in issues if not i.is_error],
        }
        self.stdout.write(f"{counts['classes']} classes, {counts['enrollments']} enrollments.")
        if opts["dry_run"] or check.plan.has_errors:
            return self._finish(report, opts, failed=check.plan.has_errors)
        job = jobs.import_job_create(district=district, created_by=admin, description=opts["description"], import_type=CLASSES.import_type)
        uploads = [_PathUpload(open(path, "rb"), name=os.path.basename(path)) for path in opts["files"]]
        names = [u.name for u in uploads]
        # The check has just read every row of plain files: the upload need not count them again.
        counted = [check.plan.rows_by_file[n] for n in names] if class_files is None and len(set(names)) == len(names) else None
        try:
            jobs.import_files_add(job=job, uploads=uploads, has_header=False if opts["no_header"] else None, row_counts=counted)
        finally:
            for u in uploads:
                u.close()
        job.field_mapping, job.school_mapping, job.roster_policy = mapping, school_map, opts["roster"]
        job.validation_summary = classes_summary(check)
        job.validated_at = timezone.now()
        job.save()
        stored = {f.original_name: f.id for f in job.files.all()}
        store_issues(job, [Source(path="", info=s.info, file_id=stored.get(s.info.name)) for s in sources], issues)
        if opts["now"]:
            classes_check_keep(job=job, check=check)
        job = jobs.import_job_submit(job=job, dispatch=not opts["now"])
        audit_event_record(action=AuditAction.SUBMIT, actor=admin, job=job, detail={"source": "import_users"})
        if opts["now"]:
            job.run_after = timezone.now()
            job.save(update_fields=["run_after"])
            job = runs.import_job_run(job_id=job.id, queue_emails=False) or job
        report.update(import_number=job.number, status=job.status)
        report["counts"] = _classes_tally({**report["counts"], **job.validation_summary.get("counts", {}), **(job.counts or {})})
        if job.status == ImportStatus.FAILED:
            self.stderr.write(job.failure_reason)
        if job.status == ImportStatus.ON_HOLD:
            h = job.hold_summary
            self.stdout.write(f"Import {job.number} is on hold: it removes {h['removed_enrollments']} of {h['existing_enrollments']} "
                              f"enrollments ({h['percent']}%), over the district's {h['threshold']}%. Approve it to run it.")
        return self._finish(report, opts, failed=job.status == ImportStatus.FAILED, job=job)

    def _classes_mapping(self, sources, opts) -> dict:
        labels = column_labels(sources)
        proposal = propose_field_mapping(labels, has_header=all(s.info.has_header for s in sources), spec=CLASSES)
        mapping = {**proposal.suggestions, **proposal.matched}
        for column, key in _pairs(opts["map"], "--map"):
            if key not in CLASSES.by_key:
                raise CommandError(f'--map: unknown field "{key}". Fields: {", ".join(CLASSES.by_key)}.')
            label = labels[int(column) - 1] if column.isdigit() and 0 < int(column) <= len(labels) else column
            if label not in labels:
                raise CommandError(f'--map: no column "{column}" in the file(s).')
            mapping = {k: v for k, v in mapping.items() if v != label}
            mapping[key] = label
        missing = [k for k in CLASSES.required_keys if k not in mapping]
        if missing:
            raise CommandError("Required fields have no column: " + ", ".join(CLASSES.heading(k) for k in missing)
                               + ". Use --map COLUMN=field_key.")
        return mapping

    def _classes_school_map(self, district, opts) -> "_ProposedSchools":
        """--school-map, then each value the file holds proposed as it is met (SIS ID/code, name, the district's last choice)."""
        schools = school_choices(district=district)
        memory = DistrictImportMemory.objects.filter(district=district).first()
        by_code = {s.sis_id: s.id for s in schools}
        given = {}
        for value, sis_id in _pairs(opts["school_map"], "--school-map"):
            if sis_id not in by_code:
                raise CommandError(f'--school-map: no school with SIS ID "{sis_id}" in {district.slug}.')
            given[value] = by_code[sis_id]
        return _ProposedSchools(given, schools, memory.school_mapping if memory else None)

    @staticmethod
    def _entry(issue) -> dict:
        return {k: getattr(issue, k) for k in ("file", "row", "column", "field", "code", "message", "suggestion")}

    def _finish(self, report, opts, *, failed: bool, job=None):
        if opts["report"]:
            with open(opts["report"], "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=2, default=str)
        counts = report["counts"]
        tally = COUNTS_LINE.format(**{"skipped": 0, **counts})
        if report["status"] == "refused":
            self.stdout.write(REFUSED.format(errors=counts["errors"], tally=tally))
        elif report["status"] == "dry_run":
            self.stdout.write(DRY_RUN.format(tally=tally))
        else:
            self.stdout.write(f"{report['status']}: {tally}")
        if report.get("hold"):
            self.stdout.write(report["hold"])
        if job is not None and job.status == ImportStatus.SCHEDULED:
            self.stdout.write(f"Import {job.number} scheduled for {job.run_after.astimezone(job.district.tzinfo):%Y-%m-%d %H:%M %Z}.")
        for entry in report["errors"][:50]:
            where = f"{entry['file']} row {entry['row']}" if entry["row"] else entry["file"]
            column = f", column {entry['column']}" if entry["column"] else ""
            suggestion = COMMAND_SUGGESTIONS.get(entry["code"], entry["suggestion"])
            self.stderr.write(f"{where}{column}: {entry['message']} {suggestion}")
        if len(report["errors"]) > 50:
            self.stderr.write(f"... and {len(report['errors']) - 50} more errors (see --report).")
        if failed:
            sys.exit(1)
