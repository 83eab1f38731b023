"""A OneRoster REST client: fetches a district's roster and writes it as a OneRoster CSV bundle.

Specification: https://www.imsglobal.org/oneroster-v11-final-specification (1.1, OAuth 1.0a with
HMAC-SHA256) and https://www.imsglobal.org/spec/oneroster/v1p2 (1.2, OAuth 2 client credentials).
Collections are paged by limit and offset until the data ends (X-Total-Count when the server
sends it). 429 (after Retry-After) and 5xx are retried with backoff, a bounded number of times;
every call has a timeout. No message here ever carries a secret, a token or a record.
"""
import csv
import email.utils
import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth1

V1_1, V1_2 = "1.1", "1.2"
PAGE_SIZE = 1000
MAX_RETRIES = 4
BACKOFF_SECONDS = 1.0
MAX_RETRY_AFTER = 120  # seconds: a server asking to wait longer is treated as failing
MAX_PAGES = 100_000  # a server that never ends its data is stopped

# Collection -> the key its JSON pages list records under, and the CSV it becomes.
COLLECTIONS = (("orgs", "orgs"), ("users", "users"), ("demographics", "demographics"), ("classes", "classes"), ("enrollments", "enrollments"))
REQUIRED = ("orgs", "users")  # without these there is no roster; the others may be missing on a server

ERROR_UNREACHABLE = "The OneRoster API at {host} could not be reached ({reason}). The sync will try again at its next run."
ERROR_TIMEOUT = "The OneRoster API at {host} did not answer within {seconds:g} seconds while fetching {collection} (offset {offset}). Nothing was imported; the sync will try again at its next run."
ERROR_REFUSED = "The OneRoster API at {host} refused the credentials (HTTP {status}). Check the client ID and secret in Sync settings; they may have been revoked."
ERROR_SERVER = "The OneRoster API at {host} kept answering HTTP {status} for {collection} (offset {offset}) after {tries} tries. Nothing was imported; the sync will try again at its next run."
ERROR_MALFORMED = "The OneRoster API at {host} sent a page of {collection} (offset {offset}) that is not a OneRoster JSON page ({why}). Nothing was imported."
ERROR_TOKEN = "The OneRoster API at {host} gave no access token (HTTP {status}). Check the client ID and secret and the token URL in Sync settings; they may have been revoked."
ERROR_NOT_FOUND = "The OneRoster API at {host} has no {collection} collection (HTTP 404). Check the base URL in Sync settings."


class OneRosterError(Exception):
    """The fetch failed; the message is safe to show (no secret, token or record)."""


@dataclass
class FetchResult:
    """Where the written files are, and what was fetched (counts only)."""

    csv_files: list[tuple[str, str]]
    pages_file: str
    counts: dict[str, int] = field(default_factory=dict)


class OneRosterClient:
    def __init__(
        self, *, base_url: str, version: str, client_id: str, client_secret: str, token_url: str = "",
        timeout: float = 30.0, page_size: int = PAGE_SIZE, max_retries: int = MAX_RETRIES,
        backoff: float = BACKOFF_SECONDS, sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self.timeout = timeout
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self._client_id, self._client_secret = client_id, client_secret
        self._token_url = token_url or f"{self.base_url}/token"
        self.session = self._session()

    def _session(self) -> requests.Session:
        session = requests.Session()
        if self.version == V1_1:
            session.auth = OAuth1(self._client_id, client_secret=self._client_secret, signature_method=SIGNATURE_HMAC_SHA256)
        self._token = None
        return session

    def _fetch_token(self) -> None:
        """OAuth 2 client credentials (RFC 6749 4.4): the client authenticates with HTTP Basic, as OneRoster 1.2 asks."""
        oauth = BackendApplicationClient(client_id=self._client_id)
        try:
            response = requests.post(
                self._token_url, data=oauth.prepare_request_body(), auth=(self._client_id, self._client_secret),
                timeout=self.timeout, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
        except requests.Timeout:
            raise OneRosterError(ERROR_TIMEOUT.format(host=self.host, seconds=self.timeout, collection="an access token", offset=0)) from None
        except requests.RequestException as exc:
            raise OneRosterError(ERROR_UNREACHABLE.format(host=self.host, reason=type(exc).__name__)) from None
        try:
            token = oauth.parse_request_body_response(response.text) if response.status_code == 200 else None
        except (OAuth2Error, ValueError):
            token = None
        if not token or not token.get("access_token"):
            raise OneRosterError(ERROR_TOKEN.format(host=self.host, status=response.status_code))
        self._token = token["access_token"]

    def _get(self, collection: str, offset: int) -> requests.Response:
        """One page, retried on 429 and 5xx (and a dropped connection) with backoff, a bounded number of times."""
        if self.version == V1_2 and not self._token:
            self._fetch_token()
        url = f"{self.base_url}/{collection}"
        params = {"limit": self.page_size, "offset": offset}
        renewed = False
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                headers = {"Accept": "application/json"}
                if self._token:
                    headers["Authorization"] = f"Bearer {self._token}"
                response = self.session.get(url, params=params, timeout=self.timeout, headers=headers)
            except requests.Timeout:
                if last:
                    raise OneRosterError(ERROR_TIMEOUT.format(host=self.host, seconds=self.timeout, collection=collection, offset=offset)) from None
                self.sleep(self.backoff * 2 ** attempt)
                continue
            except requests.RequestException as exc:
                if last:
                    raise OneRosterError(ERROR_UNREACHABLE.format(host=self.host, reason=type(exc).__name__)) from None
                self.sleep(self.backoff * 2 ** attempt)
                continue
            status = response.status_code
            if status == 401 and self.version == V1_2 and not renewed:
                self._fetch_token()  # the token expired: one new one, then a refusal is final
                renewed = True
                continue
            if status in (401, 403):
                raise OneRosterError(ERROR_REFUSED.format(host=self.host, status=status))
            if status == 404:
                raise OneRosterError(ERROR_NOT_FOUND.format(host=self.host, collection=collection))
            if status == 429 or status >= 500:
                if last:
                    raise OneRosterError(ERROR_SERVER.format(host=self.host, status=status, collection=collection, offset=offset, tries=attempt + 1))
                wait = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
                self.sleep(wait if wait is not None else self.backoff * 2 ** attempt)
                continue
            if status != 200:
                raise OneRosterError(ERROR_SERVER.format(host=self.host, status=status, collection=collection, offset=offset, tries=attempt + 1))
            return response
        raise AssertionError("unreachable")

    def pages(self, collection: str):
        """Each page's records of a collection, until the data ends."""
        offset = 0
        for _ in range(MAX_PAGES):
            response = self._get(collection, offset)
            records = _records(response, collection, offset, self.host)
            total = _total_count(response)
            yield offset, records
            offset += len(records)
            if not records or (total is not None and offset >= total) or (total is None and len(records) < self.page_size):
                return
        raise OneRosterError(ERROR_MALFORMED.format(host=self.host, collection=collection, offset=offset, why="it never ends"))

    def test_connection(self) -> int:
        """One page of orgs: proves the address and the credentials. Returns how many orgs the server has (or sent)."""
        response = self._get("orgs", 0)
        records = _records(response, "orgs", 0, self.host)
        return _total_count(response) or len(records)

    def fetch_bundle(self, workdir: str) -> FetchResult:
        """Fetch every collection and write the OneRoster CSV files, plus every page as JSON (pages.jsonl)."""
        pages_path = os.path.join(workdir, "oneroster-pages.jsonl")
        records: dict[str, list[dict]] = {}
        with open(pages_path, "w", encoding="utf-8") as pages_out:
            for collection, _ in COLLECTIONS:
                records[collection] = []
                try:
                    for offset, page in self.pages(collection):
                        pages_out.write(json.dumps({"collection": collection, "offset": offset, "records": page}) + "\n")
                        records[collection].extend(page)
                except OneRosterError as exc:
                    if collection in REQUIRED or "HTTP 404" not in str(exc):
                        raise
                    records.pop(collection)  # an optional collection the server does not have
        files = write_bundle(records, workdir, self.version)
        return FetchResult(csv_files=files, pages_file=pages_path, counts={k: len(v) for k, v in records.items()})


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), bounded; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _total_count(response: requests.Response) -> int | None:
    try:
        return int(response.headers["X-Total-Count"])
    except (KeyError, ValueError):
        return None


def _records(response: requests.Response, collection: str, offset: int, host: str) -> list[dict]:
    try:
        body = response.json()
    except ValueError:
        raise OneRosterError(ERROR_MALFORMED.format(host=host, collection=collection, offset=offset, why="not JSON")) from None
    records = body.get(collection) if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) and r.get("sourcedId") for r in records):
        why = f'no "{collection}" list of records with a sourcedId'
        raise OneRosterError(ERROR_MALFORMED.format(host=host, collection=collection, offset=offset, why=why))
    return records


# --- JSON records -> OneRoster CSV ----------------------------------------------------------------

ORG_COLUMNS = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId")
USER_COLUMNS_1_1 = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
)
USER_COLUMNS_1_2 = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
    "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password", "primaryOrgSourcedId",
)
ROLE_COLUMNS = ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId")
DEMOGRAPHIC_COLUMNS = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
    "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus",
)
CLASS_COLUMNS = ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
                 "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods")
ENROLLMENT_COLUMNS = ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
                      "role", "primary", "beginDate", "endDate")


def _cell(value) -> str:
    """A JSON value as a OneRoster CSV cell: references by sourcedId, lists comma-joined, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value.get("sourcedId", ""))
    if isinstance(value, list):
        return ",".join(_cell(v) for v in value)
    return str(value)


def _user_ids(value) -> str:
    if not isinstance(value, list):
        return _cell(value)
    return ",".join(f"{{{v.get('type', '')}:{v.get('identifier', '')}}}" if isinstance(v, dict) else str(v) for v in value)


def _row(record: dict, columns: tuple[str, ...], renames: dict[str, str]) -> list[str]:
    out = []
    for column in columns:
        key = renames.get(column, column)
        value = record.get(key)
        out.append(_user_ids(value) if column == "userIds" else _cell(value))
    return out


def _write(path: str, columns: tuple[str, ...], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)


def write_bundle(records: dict[str, list[dict]], workdir: str, version: str) -> list[tuple[str, str]]:
    """The OneRoster CSV files of these records, as a OneRoster CSV export of that version lays them out."""
    files = []

    def add(name: str, columns, rows) -> None:
        path = os.path.join(workdir, name)
        _write(path, columns, rows)
        files.append((name, path))

    add("orgs.csv", ORG_COLUMNS, (_row(r, ORG_COLUMNS, {"parentSourcedId": "parent"}) for r in records["orgs"]))
    users = records["users"]
    if version == V1_1:
        add("users.csv", USER_COLUMNS_1_1, (_row(r, USER_COLUMNS_1_1, {"orgSourcedIds": "orgs", "agentSourcedIds": "agents"}) for r in users))
    else:
        add("users.csv", USER_COLUMNS_1_2, (_row(r, USER_COLUMNS_1_2, {"agentSourcedIds": "agents", "primaryOrgSourcedId": "primaryOrg"}) for r in users))
        add("roles.csv", ROLE_COLUMNS, _roles(users))
    if "demographics" in records:
        add("demographics.csv", DEMOGRAPHIC_COLUMNS, (_row(r, DEMOGRAPHIC_COLUMNS, {}) for r in records["demographics"]))
    if "classes" in records:
        add("classes.csv", CLASS_COLUMNS, (_row(r, CLASS_COLUMNS, {"courseSourcedId": "course", "schoolSourcedId": "school", "termSourcedIds": "terms"}) for r in records["classes"]))
    if "enrollments" in records:
        add("enrollments.csv", ENROLLMENT_COLUMNS, (_row(r, ENROLLMENT_COLUMNS, {"classSourcedId": "class", "schoolSourcedId": "school", "userSourcedId": "user"}) for r in records["enrollments"]))
    manifest = [("manifest.version", "1.0"), ("oneroster.version", version)]
    manifest += [(f"file.{name[:-4]}", "bulk") for name, _ in files]
    add("manifest.csv", ("propertyName", "value"), manifest)
    return files


def _roles(users: list[dict]):
    """1.2 keeps each user's roles in roles.csv (userSourcedId, roleType, role, orgSourcedId)."""
    for user in users:
        for n, role in enumerate(user.get("roles") or []):
            if not isinstance(role, dict):
                continue
            yield [f"{user['sourcedId']}-r{n}", "active", "", user["sourcedId"], _cell(role.get("roleType")), _cell(role.get("role")),
                   _cell(role.get("beginDate")), _cell(role.get("endDate")), _cell(role.get("org"))]
