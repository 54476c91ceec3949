"""Which columns hold ciphertexts or keyed indexes (加密字段登记): the kernel's and every capability's.

The kernel imports no capability, so each module that defines an encrypted column registers it here,
beside its model (`register_encrypted("lead", encrypted=…, indexes=…)`). Key rotation walks this
registry; `tests/kernel/test_key_rotation.py` fails when a table has a binary column or a `*_bidx`
column that nobody registered, so a new encrypted column cannot be forgotten by rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Index:
    """A blind index column, recomputed from the plaintext of the encrypted `source` column."""

    column: str
    source: str
    kind: str


@dataclass(frozen=True)
class EncryptedTable:
    table: str
    pk: str = "id"
    #: columns holding `crypto.encrypt` ciphertexts (re-encrypted under the new key)
    encrypted: tuple[str, ...] = ()
    #: blind indexes (recomputed under the new key)
    indexes: tuple[Index, ...] = ()
    #: idempotency digests under the ring's signing key (`crypto.stable_digest`): not rotated, because
    #: they cannot be recomputed from what is stored; listed so the coverage test knows them
    digests: tuple[str, ...] = field(default=())


ENCRYPTED: dict[str, EncryptedTable] = {}


def register_encrypted(table: str, *, pk: str = "id", encrypted: tuple[str, ...] = (),
                       indexes: dict[str, tuple[str, str]] | None = None,
                       digests: tuple[str, ...] = ()) -> EncryptedTable:
    """Declare `table`'s encrypted columns; `indexes` maps an index column to (source column, kind)."""
    entry = EncryptedTable(table, pk, tuple(encrypted),
                           tuple(Index(c, s, k) for c, (s, k) in (indexes or {}).items()), tuple(digests))
    ENCRYPTED[table] = entry
    return entry


def rotated() -> list[EncryptedTable]:
    """The tables rotation walks (those with ciphertexts or indexes), in a stable order."""
    return [ENCRYPTED[t] for t in sorted(ENCRYPTED) if ENCRYPTED[t].encrypted or ENCRYPTED[t].indexes]
