"""The OneRoster client secret, encrypted at rest with a key from the settings (Fernet: AES + HMAC)."""
import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

ERROR_UNREADABLE_SECRET = "The stored client secret cannot be read with this server's key: enter it again in Sync settings."


class SecretUnreadable(Exception):
    pass


def _fernet() -> Fernet:
    # A key of its own when set, so SECRET_KEY can rotate without losing the secrets; else derived from it.
    material = settings.SYNC_SECRET_KEY or settings.SECRET_KEY
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"classworks-sync-client-secret").derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    """The secret as stored: a Fernet token."""
    return _fernet().encrypt(secret.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """The secret back from its token; SecretUnreadable when the key changed."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(ERROR_UNREADABLE_SECRET) from None
