"""The automated roster sync: settings, one run of a district, and dispatching due districts.

A sync is an ordinary import: each included type becomes an ImportJob (source "sync") made with the
upload services, mapped from the remembered mappings or a chosen past import, validated, weighed
against the sync's hold thresholds, then run by the same claim, lock and writer as any import.
"""
import datetime
import logging
import os
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from imports import scheduling
from imports.dispatch import task
from imports.models import BundleRole, DistrictImportMemory, ImportChange, ImportFile, ImportJob, ImportSource, ImportStatus
from imports.pipeline.mapping import missing_required, propose_school_mapping
from imports.pipeline.reading import FileReadError
from imports.selectors import school_choices
from imports.services import jobs, runs
from imports.services.apply import import_job_validate
from imports.services.roster import ACTIVE_KEY, DISABLED
from imports.services.safety import MIN_CHANGED_USERS, hold_assess
from imports.services.sources import ImportOptions, column_labels, iter_user_rows, sources_for_job
from imports.services.validation import file_value_counts
from imports.types import SPECS, get_spec
from schools.models import District
from users.models import User
from users.protection import protected_q

from . import dropfolder, selectors
from .crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from .models import OneRosterVersion, SyncRun, SyncRunStatus, SyncSettings, SyncSource
from .oneroster import OneRosterClient, OneRosterError

logger = logging.getLogger(__name__)

ERROR_NOT_SET_UP = "Sync is not set up for {district}: save its Sync settings first."
ERROR_OUTSIDE_WINDOW = "Choose a time inside the district's off-peak window ({start}-{end}), or turn the schedule off."
ERROR_UNKNOWN_TYPE = "Unknown import type {name}: choose from {choices}."
ERROR_NO_TYPES = "Choose at least one import type to sync."
ERROR_PERCENT = "A hold threshold is a share from 0 to 100."
ERROR_ONEROSTER_FIELDS = "A OneRoster source needs its base URL, client ID and client secret."
ERROR_NOT_ONEROSTER = "Test connection needs a OneRoster source."
ERROR_MAPPING_JOB = "Choose one of your district's finished imports."
ERROR_ALREADY_RUNNING = "A sync of this district is running already."
ERROR_IMPORT_RUNNING = "Another import of this district is running; the sync waits and tries again in a minute."
ERROR_HELD_WAITING = "Import {number}, an earlier sync, is on hold: approve or discard it before the next sync runs."
ERROR_REQUIRED_UNMAPPED = (
    "Required fields have no column in the received files: {fields}. Run one manual import of these files so "
    "the mapping is remembered, or choose a past import in Sync settings."
)
ERROR_UNEXPECTED = "The sync stopped because of an internal error ({error}). Nothing was imported."
NOTHING_NEW = "Nothing new in the drop folder."
STILL_UPLOADING = "Still being uploaded, left for the next run: {names}."
HOLD_CHANGED = "It would change {n} of {total} users ({pct}%); the sync's limit is {limit}%."
HOLD_DISABLED = "It would disable {n} of {total} users ({pct}%); the sync's limit is {limit}%."
HOLD_ERRORS = "{n} of {rows} rows ({pct}%) have errors; the sync's limit is {limit}%."
HELD_BY_DISTRICT = "The import is on hold: it changes more of the district than its change threshold."
RUN_STALE = datetime.timedelta(hours=6)  # a claim older than this belongs to a worker that died
REDISPATCH_AFTER = datetime.timedelta(minutes=10)
PAGES_FILE_NAME = "oneroster-pages.jsonl"


class SyncRefused(Exception):
    """A refusal with a message safe to show the admin; `code` is stable for callers."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.code = code


class _FetchFailed(Exception):
    """The roster could not be received; the message is safe to show."""


class _PathUpload(File):
    """A file on disk handed to the upload service without copying it first."""

    def temporary_file_path(self):
        return self.file.name


# --- Settings ------------------------------------------------------------------------------------


def sync_next_run_at(*, cfg: SyncSettings, now=None) -> datetime.datetime | None:
    """The next time the schedule comes round after now, in the district's zone; None when it is off."""
    if cfg.schedule_time is None:
        return None
    now = now or timezone.now()
    tz = cfg.district.tzinfo
    local = now.astimezone(tz)
    for offset in (0, 1, 2):
        day = local.date() + datetime.timedelta(days=offset)
        at = datetime.datetime.combine(day, cfg.schedule_time, tzinfo=tz).astimezone(datetime.timezone.utc)
        if at > now:
            return at
    raise AssertionError("a day always has the time")


def sync_settings_update(
    *, district: District, source: str, schedule_time: datetime.time | None, import_types: list[str],
    full_roster: bool = False, full_roster_manual_users: bool = False, mapping_from_id: int | None = None,
    hold_changed_percent: int = 20, hold_disabled_percent: int = 10, hold_errors_percent: int = 10,
    daily_summary: bool = False, oneroster_url: str = "", oneroster_version: str = OneRosterVersion.V1_1,
    token_url: str = "", client_id: str = "", client_secret: str = "", now=None,
) -> SyncSettings:
    """Save the district's sync settings. A blank client_secret keeps the stored one; it is never shown again."""
    if schedule_time is not None and not scheduling.in_offpeak_window(schedule_time, district.offpeak_start, district.offpeak_end):
        raise SyncRefused(ERROR_OUTSIDE_WINDOW.format(
            start=district.offpeak_start.strftime("%H:%M"), end=district.offpeak_end.strftime("%H:%M")), code="schedule")
    choices = [s.import_type for s in SPECS]
    # A type by its stored name or its command name (users, demographics), as import_users --type takes it.
    names = {**{s.command_name: s.import_type for s in SPECS}, **{t: t for t in choices}}
    if not import_types:
        raise SyncRefused(ERROR_NO_TYPES, code="types")
    for name in import_types:
        if name not in names:
            raise SyncRefused(ERROR_UNKNOWN_TYPE.format(name=name, choices=", ".join(names)), code="types")
    import_types = [names[name] for name in import_types]
    for pct in (hold_changed_percent, hold_disabled_percent, hold_errors_percent):
        if not 0 <= int(pct) <= 100:
            raise SyncRefused(ERROR_PERCENT, code="percent")
    mapping_from = None
    if mapping_from_id:
        mapping_from = selectors.sync_mapping_choices(district=district).filter(id=mapping_from_id).first()
        if mapping_from is None:
            raise SyncRefused(ERROR_MAPPING_JOB, code="mapping_from")
    with transaction.atomic():
        cfg, _ = SyncSettings.objects.select_for_update().get_or_create(district=district)
        if source == SyncSource.ONEROSTER and not (oneroster_url and client_id and (client_secret or cfg.client_secret_encrypted)):
            raise SyncRefused(ERROR_ONEROSTER_FIELDS, code="oneroster")
        cfg.source = source
        cfg.schedule_time = schedule_time
        cfg.import_types = [t for t in choices if t in import_types]  # the registry's order: users before demographics
        cfg.full_roster = full_roster
        cfg.full_roster_manual_users = full_roster_manual_users
        cfg.mapping_from = mapping_from
        cfg.hold_changed_percent, cfg.hold_disabled_percent = int(hold_changed_percent), int(hold_disabled_percent)
        cfg.hold_errors_percent = int(hold_errors_percent)
        cfg.daily_summary = daily_summary
        cfg.oneroster_url, cfg.oneroster_version = oneroster_url.strip(), oneroster_version
        cfg.token_url, cfg.client_id = token_url.strip(), client_id.strip()
        if client_secret:
            cfg.client_secret_encrypted = secret_encrypt(client_secret)
        cfg.next_run_at = sync_next_run_at(cfg=cfg, now=now)
        cfg.save()
    if cfg.source == SyncSource.FOLDER:
        dropfolder.folders_ensure(district.slug)
    return cfg


def oneroster_client(*, cfg: SyncSettings, **kwargs) -> OneRosterClient:
    """The client for the district's API, its secret decrypted only here."""
    return OneRosterClient(
        base_url=cfg.oneroster_url, version=cfg.oneroster_version, client_id=cfg.client_id,
        client_secret=secret_decrypt(cfg.client_secret_encrypted), token_url=cfg.token_url,
        timeout=settings.SYNC_HTTP_TIMEOUT, **kwargs,
    )


CONNECTION_OK = "Connected to {host}: OneRoster {version}, {orgs} orgs."


def sync_connection_test(*, cfg: SyncSettings) -> str:
    """One page of orgs with the stored credentials; SyncRefused with the reason when it fails."""
    if cfg.source != SyncSource.ONEROSTER:
        raise SyncRefused(ERROR_NOT_ONEROSTER, code="not_oneroster")
    try:
        client = oneroster_client(cfg=cfg, max_retries=1)
        orgs = client.test_connection()
    except (OneRosterError, SecretUnreadable) as exc:
        raise SyncRefused(str(exc), code="connection") from None
    return CONNECTION_OK.format(host=client.host, version=cfg.oneroster_version, orgs=orgs)


# --- One run ---------------------------------------------------------------------------------------


@dataclass
class _Received:
    """What a sync received: a label for history, the files to import, and the API's pages when any."""

    label: str
    files: list[tuple[str, str]]
    pages_file: str = ""
    upload: dropfolder.Upload | None = None


@dataclass
class _Plan:
    disable: list[int] = field(default_factory=list)
    enable: list[int] = field(default_factory=list)


def sync_run(*, district: District, trigger: str = "schedule", dry_run: bool = False, now=None) -> SyncRun:
    """Run the district's sync now, in this process: fetch, import each type, report the delta.

    Returns the SyncRun (not saved when the district was busy: another sync or import is running).
    """
    now = now or timezone.now()
    cfg = SyncSettings.objects.select_related("district", "mapping_from").filter(district=district).first()
    if cfg is None:
        raise SyncRefused(ERROR_NOT_SET_UP.format(district=district.slug), code="not_set_up")
    claimed = SyncSettings.objects.filter(
        Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE), id=cfg.id,
    ).update(running_since=timezone.now(), dispatched_at=None)
    if not claimed:
        return SyncRun(district=district, trigger=trigger, status=SyncRunStatus.BUSY, message=ERROR_ALREADY_RUNNING)
    busy = False
    try:
        with runs.district_import_lock(district.id) as acquired:
            if not acquired or _import_running(district):
                busy = True
                return SyncRun(district=district, trigger=trigger, status=SyncRunStatus.BUSY, message=ERROR_IMPORT_RUNNING)
            run = SyncRun.objects.create(district=district, trigger=trigger, status=SyncRunStatus.RUNNING)
            try:
                _run(cfg, run, dry_run=dry_run)
            except Exception as exc:  # a fault of ours: the run ends failed, the next one tries again
                logger.error("sync of district %s failed: %s", district.id, type(exc).__name__)
                message = ERROR_UNEXPECTED.format(error=type(exc).__name__)
                # Its imports not yet run end failed in history, not as drafts nobody owns.
                run.jobs.filter(status=ImportStatus.DRAFT).update(
                    status=ImportStatus.FAILED, failure_reason=message, completed_at=timezone.now())
                _finish(run, SyncRunStatus.FAILED, message)
            return run
    finally:
        done = {"running_since": None}
        # A busy district stays due and is tried again at the next dispatch; a dry run is no run of the schedule.
        if not busy and not dry_run:
            done.update(last_run_at=timezone.now(), next_run_at=sync_next_run_at(cfg=cfg, now=max(now, timezone.now())))
        SyncSettings.objects.filter(id=cfg.id).update(**done)


def sync_district_run(*, district_id: int, trigger: str = "schedule") -> SyncRun | None:
    """A worker's run of one district's sync, by id (a district deleted since is nothing to do)."""
    district = District.objects.filter(id=district_id).first()
    if district is None or not SyncSettings.objects.filter(district=district).exists():
        return None
    return sync_run(district=district, trigger=trigger)


def _import_running(district: District) -> bool:
    fresh = timezone.now() - runs.STALE_HEARTBEAT
    return ImportJob.objects.filter(district=district, status=ImportStatus.RUNNING, heartbeat_at__gte=fresh).exists()


def _finish(run: SyncRun, status: str, message: str = "", delta: dict | None = None) -> SyncRun:
    run.status, run.message, run.finished_at = status, message, timezone.now()
    if delta is not None:
        run.delta = delta
    run.save()
    return run


def _run(cfg: SyncSettings, run: SyncRun, *, dry_run: bool) -> None:
    district = cfg.district
    held = selectors.sync_held_job(district=district)
    if held is not None:
        _finish(run, SyncRunStatus.BUSY, ERROR_HELD_WAITING.format(number=held.number))
        return
    with tempfile.TemporaryDirectory(prefix="sync-") as workdir:
        try:
            received = _receive(cfg, workdir)
        except _FetchFailed as exc:
            _fail_received(cfg, run, str(exc), upload=getattr(exc, "upload", None), dry_run=dry_run)
            if not dry_run:
                _notify(cfg, run)
            return
        if received is None or isinstance(received, str):
            _finish(run, SyncRunStatus.NOTHING_NEW, received or NOTHING_NEW)
            return
        run.received = received.label[:255]
        run.save(update_fields=["received"])
        outcome = _import_types(cfg, run, received, dry_run=dry_run)
        if received.upload is not None and not dry_run:
            dropfolder.upload_move(slug=district.slug, upload=received.upload,
                                   to=dropfolder.FAILED if outcome == SyncRunStatus.FAILED else dropfolder.PROCESSED)
    if not dry_run:
        _notify(cfg, run)


def _receive(cfg: SyncSettings, workdir: str) -> _Received | str | None:
    """The roster: the newest complete upload of the drop folder, or the API's collections as CSV files."""
    if cfg.source == SyncSource.ONEROSTER:
        try:
            client = oneroster_client(cfg=cfg)
            fetched = client.fetch_bundle(workdir)
        except (OneRosterError, SecretUnreadable) as exc:
            raise _FetchFailed(str(exc)) from None
        return _Received(label=f"OneRoster {cfg.oneroster_version} API ({client.host})",
                         files=_as_zip(f"oneroster-{cfg.oneroster_version}.zip", fetched.csv_files, workdir),
                         pages_file=fetched.pages_file)
    scan = dropfolder.incoming_scan(cfg.district.slug)
    for old in scan.superseded:  # a newer complete upload replaces it: kept, never imported
        dropfolder.upload_move(slug=cfg.district.slug, upload=old, to=dropfolder.PROCESSED)
    if scan.upload is None:
        return STILL_UPLOADING.format(names=", ".join(scan.waiting)) if scan.waiting else None
    try:
        files = scan.upload.files()
    except dropfolder.UploadIncomplete as exc:
        failed = _FetchFailed(str(exc))
        failed.upload = scan.upload
        raise failed from None
    if scan.upload.is_dir:
        files = _as_zip(f"{scan.upload.name}.zip", files, workdir)
    return _Received(label=scan.upload.name, files=files, upload=scan.upload)


def _as_zip(name: str, files: list[tuple[str, str]], workdir: str) -> list[tuple[str, str]]:
    """A roster of loose files as one zip, as the upload service takes a OneRoster or SDS export of any size;
    a single plain file stays as it is."""
    if len(files) == 1:
        return files
    path = os.path.join(workdir, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, file_path in files:
            archive.write(file_path, member)
    return [(name, path)]


def _sync_job(district: District, import_type: str, description: str) -> ImportJob:
    job = jobs.import_job_create(district=district, description=description, import_type=import_type)
    ImportJob.objects.filter(id=job.id).update(source=ImportSource.SYNC)
    job.source = ImportSource.SYNC
    return job


def _fail_job(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.FAILED, failure_reason=message, completed_at=timezone.now(), submitted_at=timezone.now(),
    )
    job.refresh_from_db()


def _fail_received(cfg: SyncSettings, run: SyncRun, message: str, *, upload=None, dry_run: bool = False) -> None:
    """Nothing could be received: one failed import in history says why; the roster stays as it was."""
    if upload is not None:
        run.received = upload.name[:255]
    if not dry_run:
        job = _sync_job(cfg.district, cfg.import_types[0] if cfg.import_types else SPECS[0].import_type, f"Sync: {run.received or cfg.get_source_display()}")
        _fail_job(job, message)
        run.jobs.add(job)
        if upload is not None:
            dropfolder.upload_move(slug=cfg.district.slug, upload=upload, to=dropfolder.FAILED)
    _finish(run, SyncRunStatus.FAILED, message)


def _import_types(cfg: SyncSettings, run: SyncRun, received: _Received, *, dry_run: bool) -> str:
    """One import per type, in order; a type that fails or is held stops those after it."""
    deltas = {}
    status = SyncRunStatus.COMPLETED
    for import_type in cfg.import_types:
        job = _sync_job(cfg.district, import_type, f"Sync: {received.label}")
        run.jobs.add(job)
        outcome, delta, message = _import_one(cfg, job, received, dry_run=dry_run)
        deltas[import_type] = delta
        if outcome in (SyncRunStatus.FAILED, SyncRunStatus.HELD):
            if dry_run:
                _dry_run_job_delete(job)
            _finish(run, outcome, message, delta=deltas)
            return outcome
        if outcome == SyncRunStatus.COMPLETED_WITH_ERRORS:
            status = outcome
        if dry_run:
            _dry_run_job_delete(job)
    _finish(run, SyncRunStatus.DRY_RUN if dry_run else status, "", delta=deltas)
    return status


def _dry_run_job_delete(job: ImportJob) -> None:
    """A dry run's draft goes: nothing of it stays in history."""
    files = list(job.files.all())
    job.delete()
    for f in files:
        f.stored.storage.delete(f.stored.name)


def _import_one(cfg: SyncSettings, job: ImportJob, received: _Received, *, dry_run: bool) -> tuple[str, dict, str]:
    uploads = [_PathUpload(open(path, "rb"), name=name) for name, path in received.files]
    try:
        jobs.import_files_add(job=job, uploads=uploads)
    except (FileReadError, jobs.ImportError_) as exc:
        _fail_job(job, str(exc))
        return SyncRunStatus.FAILED, {}, str(exc)
    finally:
        for upload in uploads:
            upload.close()
    if received.pages_file:
        _attach(job, received.pages_file, PAGES_FILE_NAME)
    job.refresh_from_db()
    _map(cfg, job)
    spec = get_spec(job.import_type)
    names = [f.original_name for f in job.files.all() if f.bundle_role != BundleRole.MEMBER]
    missing = missing_required(job.field_mapping, job.fixed_values, spec, file_fixed_values=job.file_fixed_values, file_names=names)
    if missing:
        message = ERROR_REQUIRED_UNMAPPED.format(fields=", ".join(spec.heading(k) for k in missing))
        _fail_job(job, message)
        return SyncRunStatus.FAILED, {}, message
    import_job_validate(job=job)
    job.refresh_from_db()
    plan = _roster_plan(cfg, job) if cfg.full_roster and spec.creates_users else _Plan()
    reasons = _hold_reasons(cfg, job, plan)
    if dry_run:
        return (SyncRunStatus.HELD if reasons else SyncRunStatus.COMPLETED), _preview_delta(job, plan), " ".join(reasons)
    now = timezone.now()
    fields = {"roster_changes": {"disable": plan.disable, "enable": plan.enable} if (plan.disable or plan.enable) else {},
              "submitted_at": now, "run_after": now}
    if reasons:
        summary = {**hold_assess(district=job.district, summary=job.validation_summary, spec=spec), "hold": True,
                   "sync_reasons": reasons}
        ImportJob.objects.filter(id=job.id).update(status=ImportStatus.ON_HOLD, hold_summary=summary, **fields)
        job.refresh_from_db()
        return SyncRunStatus.HELD, _preview_delta(job, plan), " ".join(reasons)
    ImportJob.objects.filter(id=job.id, status=ImportStatus.DRAFT).update(status=ImportStatus.SCHEDULED, **fields)
    job = runs.import_job_run(job_id=job.id, queue_emails=False) or job
    job.refresh_from_db()
    if job.status == ImportStatus.ON_HOLD:  # the district's own change threshold held it
        return SyncRunStatus.HELD, _preview_delta(job, plan), HELD_BY_DISTRICT
    if job.status != ImportStatus.COMPLETED and job.status != ImportStatus.COMPLETED_WITH_WARNINGS:
        return SyncRunStatus.FAILED, {}, job.failure_reason or job.status_note
    delta = sync_job_delta(job=job)
    return (SyncRunStatus.COMPLETED_WITH_ERRORS if delta["errors"] else SyncRunStatus.COMPLETED), delta, ""


def _attach(job: ImportJob, path: str, name: str) -> None:
    """Keep the API's pages with the job, as received, for download (never read by the import)."""
    with open(path, "rb") as fh:
        f = ImportFile(job=job, position=job.files.count(), original_name=name, size=os.path.getsize(path),
                       file_format="jsonl", has_header=False, bundle_role=BundleRole.MEMBER)
        f.stored.save("upload", File(fh), save=False)
        f.save()


def _map(cfg: SyncSettings, job: ImportJob) -> None:
    """The mappings and options: the chosen past import's, else the district's remembered ones (and suggestions)."""
    spec = get_spec(job.import_type)
    sources = sources_for_job(job)
    labels = column_labels(sources)
    past = cfg.mapping_from if cfg.mapping_from and cfg.mapping_from.import_type == job.import_type else None
    proposal = jobs.proposed_field_mapping(job)
    field_mapping = {**proposal.suggestions, **proposal.matched}
    names = {s.info.name for s in sources}
    if past is not None:
        field_mapping.update({k: v for k, v in past.field_mapping.items() if v in labels})
        job.fixed_values = dict(past.fixed_values)
        job.file_fixed_values = {**job.file_fixed_values, **{n: v for n, v in past.file_fixed_values.items() if n in names}}
        job.conflict_policy, job.password_policy = past.conflict_policy, past.password_policy
    job.field_mapping = field_mapping
    memory = DistrictImportMemory.objects.filter(district=job.district).first()
    options = ImportOptions.from_job(job)
    school_values, coded_values = file_value_counts(sources, options, limit_schools=False)
    schools = propose_school_mapping(
        list(school_values), school_choices(district=job.district),
        remembered=memory.school_mapping if memory else None, names=job.bundle_summary.get("school_names"),
    )
    if past is not None:
        schools.update({k: v for k, v in past.school_mapping.items() if k in school_values})
    job.school_mapping = {k: v for k, v in schools.items() if v}
    remembered = {**(memory.value_mapping if memory else {}), **(past.value_mapping if past else {})}
    values: dict[str, dict[str, str]] = {}
    for key, found in coded_values.items():
        coding = spec.by_key[key].rule.coding
        for value in found:
            target = remembered.get(key, {}).get(value) or coding.suggest(value)
            if target:
                values.setdefault(key, {})[value] = target
    job.value_mapping = values
    job.save(update_fields=["field_mapping", "fixed_values", "file_fixed_values", "school_mapping", "value_mapping",
                            "conflict_policy", "password_policy", "updated_at"])


def _roster_plan(cfg: SyncSettings, job: ImportJob) -> _Plan:
    """Who a full roster disables (brought in by a sync, active, not in the files) and enables again (in the files,
    disabled by a sync). Made before the run, so the hold can weigh it."""
    present = set()
    for _, row in iter_user_rows(sources_for_job(job), ImportOptions.from_job(job), keep_skipped=True):
        if row.district_id:
            present.add(row.district_id)
    managed = User.objects.filter(district=job.district, district_user_id__isnull=False).exclude(protected_q())
    if not cfg.full_roster_manual_users:
        managed = managed.filter(created_by_import__source=ImportSource.SYNC)
    plan = _Plan()
    for user_id, district_user_id, active in managed.values_list("id", "district_user_id", "is_active").iterator():
        if active and district_user_id not in present:
            plan.disable.append(user_id)
    inactive = [
        user_id for user_id, district_user_id in User.objects.filter(district=job.district, is_active=False, district_user_id__isnull=False)
        .values_list("id", "district_user_id").iterator() if district_user_id in present
    ]
    if inactive:
        last: dict[int, tuple[str, list]] = {}
        logged = ImportChange.objects.filter(user_id__in=inactive, changes__has_key=ACTIVE_KEY).order_by("id")
        for user_id, source, changes in logged.values_list("user_id", "job__source", "changes"):
            last[user_id] = (source, changes[ACTIVE_KEY])
        plan.enable = [u for u, (source, change) in last.items() if source == ImportSource.SYNC and change[1] == DISABLED]
    return plan


def _hold_reasons(cfg: SyncSettings, job: ImportJob, plan: _Plan) -> list[str]:
    """Why the sync should wait for an admin: too many changed, disabled or error rows. None on a first sync."""
    counts = job.validation_summary.get("counts", {})
    total = User.objects.filter(district=job.district, district_user_id__isnull=False, is_active=True).count()
    reasons = []

    def share(n: int, of: int) -> float:
        return round(100 * n / of, 1) if of else 0.0

    # As the import's own safety hold: a share only means something past a handful of people.
    least = MIN_CHANGED_USERS
    if total:
        changed = counts.get("updated", 0)
        if changed >= least and share(changed, total) > cfg.hold_changed_percent:
            reasons.append(HOLD_CHANGED.format(n=changed, total=total, pct=share(changed, total), limit=cfg.hold_changed_percent))
        if len(plan.disable) >= least and share(len(plan.disable), total) > cfg.hold_disabled_percent:
            reasons.append(HOLD_DISABLED.format(n=len(plan.disable), total=total, pct=share(len(plan.disable), total), limit=cfg.hold_disabled_percent))
    rows, errors = counts.get("rows", 0), counts.get("error_rows", 0)
    if errors >= least and share(errors, rows) > cfg.hold_errors_percent:
        reasons.append(HOLD_ERRORS.format(n=errors, rows=rows, pct=share(errors, rows), limit=cfg.hold_errors_percent))
    elif not rows and counts.get("errors"):
        reasons.append(HOLD_ERRORS.format(n=counts["errors"], rows=rows, pct=100, limit=cfg.hold_errors_percent))
    return reasons


def _skipped(job: ImportJob) -> int:
    return job.validation_summary.get("counts", {}).get("skipped", 0) + (job.bundle_summary or {}).get("skipped_total", 0)


def _preview_delta(job: ImportJob, plan: _Plan) -> dict:
    """What the sync would do, from validation and the roster plan (fields are known once it runs)."""
    c = job.validation_summary.get("counts", {})
    return {
        "number": job.number, "added": c.get("created", 0), "updated": c.get("updated", 0), "updated_fields": {},
        "disabled": len(plan.disable), "enabled": len(plan.enable),
        "unchanged": max(0, c.get("rows", 0) - c.get("created", 0) - c.get("updated", 0) - c.get("error_rows", 0) - c.get("skipped", 0)),
        "skipped": _skipped(job), "errors": c.get("error_rows", 0),
    }


def sync_job_delta(*, job: ImportJob) -> dict:
    """The delta report of a finished sync import: added, updated (with fields), disabled, enabled again,
    unchanged, skipped, errors."""
    counts, summary = job.counts or {}, job.validation_summary.get("counts", {})
    spec = get_spec(job.import_type)
    columns = {f.stored_column: f.heading for f in spec.fields}
    columns["school_id"] = "School"
    fields = Counter()
    for changes in ImportChange.objects.filter(job=job).values_list("changes", flat=True).iterator():
        for key in changes:
            if key != ACTIVE_KEY:
                fields[columns.get(key, key.replace("_", " ").capitalize())] += 1
    disabled, enabled = counts.get("disabled", 0), counts.get("enabled", 0)
    # A user enabled again and updated in one run was counted as updated by the rows: counted once here.
    updated = ImportChange.objects.filter(job=job).exclude(changes__has_key=ACTIVE_KEY).count()
    errors, skipped = summary.get("error_rows", 0), summary.get("skipped", 0)
    rows, created = counts.get("rows", 0), counts.get("created", 0)
    return {
        "number": job.number, "added": created, "updated": updated, "updated_fields": dict(fields.most_common()),
        "disabled": disabled, "enabled": enabled,
        "unchanged": max(0, rows - created - updated - errors - skipped), "skipped": _skipped(job), "errors": errors,
    }


# --- Telling the admins -------------------------------------------------------------------------

EMAIL_SUBJECT = {
    SyncRunStatus.HELD: "Classworks sync on hold: approve or discard",
    SyncRunStatus.FAILED: "Classworks sync failed",
    SyncRunStatus.COMPLETED_WITH_ERRORS: "Classworks sync imported with errors",
}


def _notify(cfg: SyncSettings, run: SyncRun) -> None:
    """Email the district's admins only when something needs them: a hold, error rows, or a failed fetch."""
    subject = EMAIL_SUBJECT.get(run.status)
    if subject is None and not (cfg.daily_summary and run.trigger == "schedule"):
        return
    admins = list(User.objects.filter(district=cfg.district, is_district_admin=True, is_active=True).exclude(email="").values_list("email", flat=True))
    if not admins:
        return
    lines = [f"Sync of {cfg.district.name}: {run.get_status_display()}."]
    if run.message:
        lines.append(run.message)
    for import_type, delta in run.delta.items():
        if delta:
            lines.append(f"{get_spec(import_type).label}: " + delta_line(delta))
    for job in run.jobs.all():
        lines.append(f"Import {job.number}: {settings.SITE_URL}/imports/{job.number}/")
    try:
        send_mail(subject or "Classworks sync summary", "\n".join(lines), None, admins)
    except Exception:  # SMTP down: history shows the run; ops see which district (id only)
        logger.exception("sync email not sent for district %s", cfg.district_id)


def delta_line(delta: dict) -> str:
    """The delta counts in one line, as the command and the emails print them."""
    return (
        f"added {delta.get('added', 0)}, updated {delta.get('updated', 0)}, disabled {delta.get('disabled', 0)}, "
        f"enabled again {delta.get('enabled', 0)}, unchanged {delta.get('unchanged', 0)}, "
        f"skipped {delta.get('skipped', 0)}, errors {delta.get('errors', 0)}"
    )


# --- Dispatching -----------------------------------------------------------------------------------


# Handed over by name: sync/tasks.py imports this module (the app's ready() registers the tasks).
RUN_SYNC = "sync.tasks.run_sync"


def sync_due_dispatch(*, now=None) -> list[int]:
    """Hand each due district to the workers as a task of its own, the longest-waiting first."""
    run_sync = task(RUN_SYNC)
    now = now or timezone.now()
    ids = selectors.sync_due_district_ids(now=now, redispatch_after=REDISPATCH_AFTER, stale_after=RUN_STALE)
    for district_id in ids:
        SyncSettings.objects.filter(district_id=district_id).update(dispatched_at=now)
        run_sync.delay(district_id)
    return ids


def sync_now_request(*, district: District) -> None:
    """Sync now: due at once, run by a worker."""
    cfg = selectors.sync_settings_get(district=district)
    if cfg is None:
        raise SyncRefused(ERROR_NOT_SET_UP.format(district=district.slug), code="not_set_up")
    SyncSettings.objects.filter(id=cfg.id).update(dispatched_at=timezone.now())
    task(RUN_SYNC).delay_on_commit(district.id, "now")
