# Shared by bin/dev and bin/test: create .venv if missing and install a requirements file when it changed.
# bin/dev installs requirements.txt (production); bin/test installs requirements-dev.txt (it includes it).
# Needs only Python 3.11 (python3.11 or python3) and network access to PyPI.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

ensure_venv() {
  local requirements="$ROOT/${1:-requirements.txt}"
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
  # Reinstall only when the file (or requirements.txt, which a dev file includes) changed since the last install.
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(cat "$ROOT/requirements.txt" "$requirements" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing requirements into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
  fi
}
