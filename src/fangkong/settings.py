"""Settings from FANGKONG_* environment variables, with defaults that work on a laptop."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGKONG_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    timezone: str = "Asia/Shanghai"
    #: SQLite only: how long a writer waits for another writer's transaction (imports commit in bounded
    #: chunks, so no single write holds the lock for anything near this long)
    sqlite_busy_timeout_s: float = Field(default=30.0, gt=0)
    #: SQLite only: FULL syncs the WAL on every commit, so an acknowledged write survives a power loss;
    #: NORMAL may lose the last commits on power loss (never on a process crash). `fangkong bench sqlite-sync`
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: `fangkong serve` runs the scheduled jobs (escalation, overdue tests, retention …) by itself
    scheduler: bool = True
    #: Fixed clock for test and drill databases (ignored in production mode), ISO 8601 with offset.
    now: str | None = None
    #: Base64 field-encryption key material; when unset the key file in data_dir is used.
    secret_key: str | None = None
    #: field cryptography for new keys: `aes` (AES-256-GCM, HMAC-SHA256, HKDF-SHA256) or `sm` (GB/T 39786
    #: commercial cryptography: SM4-GCM, HMAC-SM3, HKDF-SM3); `fangkong keys rotate` switches a running
    #: deployment, the algorithm is recorded with each key
    crypto: Literal["aes", "sm"] = "aes"
    root_unit_name: str = "本市"
    root_unit_code: str = "000000"
    session_timeout_minutes: int = Field(default=30, ge=1)
    #: a browser session ends this long after sign-in however active it is (absolute lifetime)
    session_max_hours: float = Field(default=12, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    #: wrong passwords in a row from any addresses that lock the account itself, until an administrator
    #: unlocks it (`fangkong users unlock`) or `login_account_lockout_hours` pass
    login_account_max_failures: int = Field(default=30, ge=1)
    login_account_lockout_hours: int = Field(default=24, ge=1)
    #: requests a minute from one client address: sign-in, and the public citizen forms
    login_rate_per_minute: int = Field(default=20, ge=1)
    public_rate_per_minute: int = Field(default=30, ge=1)
    default_locale: str = "zh_CN"
    #: the platform's public address, for links printed on paper (venue QR codes); else the request's
    public_url: str | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fangkong.db').as_posix()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests and the CLI change FANGKONG_* variables at run time)."""
    get_settings.cache_clear()
