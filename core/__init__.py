"""What every app's pages and downloads share and no app owns: who may reach the Manage pages, and
spreadsheet-safe cells. It imports none of the project's apps, so any of them may import it."""
