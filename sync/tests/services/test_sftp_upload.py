"""A roster uploaded through a real sftp session (OpenSSH's sshd on a free localhost port, internal-sftp)
lands in the district's incoming folder, and the sync imports it."""
import getpass
import os
import shutil
import socket
import subprocess
import time

import pytest

from sync import dropfolder, services
from sync.models import SyncRunStatus
from sync.tests.roster import roster, roster_zip
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.services]

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
SFTP, KEYGEN = shutil.which("sftp"), shutil.which("ssh-keygen")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    if not (SSHD and SFTP and KEYGEN):
        pytest.skip("OpenSSH (sshd, sftp, ssh-keygen) is not installed")
    home = tmp_path / "ssh"
    home.mkdir(mode=0o700)
    for name in ("host_key", "client_key"):
        subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(home / name)], check=True)
    (home / "authorized_keys").write_text((home / "client_key.pub").read_text())
    os.chmod(home / "authorized_keys", 0o600)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    port = _free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\nPidFile {home / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\nForceCommand internal-sftp\nAllowTcpForwarding no\nX11Forwarding no\n"
    )
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip("sshd did not start: " + process.stdout.read().decode(errors="replace")[-300:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield {"port": port, "key": str(home / "client_key")}
    process.terminate()
    process.wait(timeout=10)


def test_a_roster_uploaded_over_sftp_is_imported(sshd, district, school, tmp_path, settings):
    settings.SYNC_SETTLE_SECONDS = 0
    services.sync_settings_update(district=district, source="folder", schedule_time=None, import_types=["user_data"])
    incoming = dropfolder.folders_ensure(district.slug)
    local = roster_zip(roster(25), tmp_path / "roster.zip")
    batch = tmp_path / "batch"
    # As an SIS uploads: under a temporary name, renamed once complete.
    batch.write_text(f"cd {incoming}\nput {local} roster.zip.filepart\nrename roster.zip.filepart roster.zip\n")
    result = subprocess.run(
        [SFTP, "-b", str(batch), "-i", sshd["key"], "-P", str(sshd["port"]), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"{getpass.getuser()}@127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in incoming.iterdir()] == ["roster.zip"]
    run = services.sync_run(district=district)
    assert run.status == SyncRunStatus.COMPLETED, run.message
    assert User.objects.filter(district=district, user_type="student").count() == 25
