# Shared by bin/dev and bin/test: create .venv if missing and install requirements.txt when it changed.
# Needs only Python 3.11 (python3.11 or python3) and network access to PyPI.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    local python
    python="$(command -v python3.11 || command -v python3 || true)"
    if [ -z "$python" ]; then
      echo "Python 3.11 is required (python3.11 or python3 on PATH)." >&2
      exit 1
    fi
    echo "Creating $VENV with $("$python" --version 2>&1)"
    "$python" -m venv "$VENV"
  fi
  # Reinstall only when requirements.txt changed since the last successful install.
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing requirements into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt"
    echo "$want" > "$stamp"
  fi
}
