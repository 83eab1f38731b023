"""Writes for imports. One module per concern:

- jobs: create a draft, add files, record wizard choices, submit, cancel, close
- validation: the one pass that validates and previews every row
- apply: write the users in committed chunks (the run of a job)
- writers: how rows reach the users table (COPY on PostgreSQL, bulk_create on SQLite)
- emails: login information and completion emails, at most once each
- reports: the error report and results report CSVs
"""
