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
    #: File imports (docs/operations.md, "File imports: limits and chunks"). What a spreadsheet may unpack
    #: to, checked from its zip directory and a streamed count before any reader unpacks it:
    import_max_unpacked_mb: int = Field(default=256, ge=1)
    import_max_shared_strings_mb: int = Field(default=64, ge=1)
    #: parts of 1 MiB or more compressed more than this many times are a zip bomb, not a table
    import_max_ratio: int = Field(default=200, ge=2)
    import_max_rows: int = Field(default=500_000, ge=1)
    import_max_cells: int = Field(default=2_000_000, ge=1)
    import_max_columns: int = Field(default=1_000, ge=1)
    #: rows an import reads, stores and commits at a time (the SQLite write lock is free in between)
    import_chunk_rows: int = Field(default=1_000, ge=1, le=100_000)
    #: a pause after each chunk's commit, so writers waiting for the lock get it (SQLite's busy wait
    #: polls, it does not queue: an import that began its next chunk at once could win every time).
    #: Unset: 20 ms on SQLite, none on PostgreSQL (whose lock waiters queue)
    import_chunk_pause_ms: int | None = Field(default=None, ge=0, le=10_000)
    #: `fangkong serve` runs the scheduled jobs (escalation, overdue tests, retention …) by itself
    scheduler: bool = True
    #: Fixed clock for test and drill databases (a production database refuses to start with it), ISO 8601.
    now: str | None = None
    #: Base64 field-encryption key material; when unset the key file in data_dir is used.
    secret_key: str | None = None
    #: field cryptography for new keys: `aes` (AES-256-GCM, HMAC-SHA256, HKDF-SHA256) or `sm` (GB/T 39786
    #: commercial cryptography: SM4-GCM, HMAC-SM3, HKDF-SM3); `fangkong keys rotate` switches a running
    #: deployment, the algorithm is recorded with each key
    crypto: Literal["aes", "sm"] = "aes"
    #: the deploying region's 6-digit GB/T 2260 code (e.g. 320400 常州市): numbers truck e-passes and
    #: tells local trips from transit; without it no e-pass is issued (docs/epass.md)
    region_code: str | None = Field(default=None, pattern=r"^[1-9][0-9]{5}$")
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
