"""Credentials encrypted at rest. The key comes from the environment
(FANOUT_CREDENTIALS_KEYS: comma-separated Fernet keys, newest first), never from the database,
so a dump of a seller's schema does not leak tokens. Older keys keep decrypting until the
values are re-saved, which makes key rotation a deploy plus `manage.py credentials_rotate`."""
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (settings.FANOUT_CREDENTIALS_KEYS or "").split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("FANOUT_CREDENTIALS_KEYS is not set; generate one with "
                                   "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def secret_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("a stored credential cannot be decrypted with FANOUT_CREDENTIALS_KEYS (was the key changed?)") from exc


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code only ever sees the plain text ('' when empty)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        return secret_decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return secret_encrypt(value)
