"""CSV text of co-location pairs built column-wise (numpy), byte for byte what `csv.writer` makes of
the same rows through `export.write` (the export's rules: UTF-8, CRLF, minimal quoting, text cells
neutralised against formulas, times as local ISO 8601 with offset, floats as Python writes them).

Why by hand: 500 cases at city scale are ~3 million pairs; `csv.writer` over Python rows costs ~3 µs a
row plus the row objects (10+ s), and pyarrow's CSV writer quotes every string and writes 5.0 as "5",
so its text would differ from the single-case export. Here every field becomes a fixed-width byte
matrix (n rows × width, unused bytes NUL), the fields are laid side by side with commas and CRLF, and
the NUL padding is dropped with one boolean mask: a few vectorised passes over the bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

import numpy as np

from fangkong.kernel import clock
from fangkong.kernel.export import neutralise

_ZERO = ord("0")
#: offsets are looked up per 15 minutes (every time zone's changes since 1970 fall on a quarter hour)
_QUARTER = 900


def int_field(a: np.ndarray) -> np.ndarray:
    """Non-negative integers as decimal digits, right-aligned, NUL before them."""
    a = np.asarray(a, np.int64)
    if a.size and int(a.min()) < 0:
        raise ValueError("non-negative integers only")
    width = len(str(int(a.max()))) if a.size else 1
    out = np.zeros((a.shape[0], width), np.uint8)
    rest = a.copy()
    for j in range(width - 1, -1, -1):
        digit = (rest % 10).astype(np.uint8) + _ZERO
        out[:, j] = np.where((rest > 0) | (j == width - 1), digit, 0)
        rest //= 10
    return out


def _digits(a: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, `width` columns."""
    out = np.empty((a.shape[0], width), np.uint8)
    rest = a.copy()
    for j in range(width - 1, -1, -1):
        out[:, j] = (rest % 10).astype(np.uint8) + _ZERO
        rest //= 10
    return out


def _offsets(secs: np.ndarray) -> np.ndarray:
    """The local time zone's UTC offset (seconds) at each unix second: sampled per day, and per quarter
    hour only within a day whose offset changes."""
    zone = clock.tz()
    if secs.size == 0:
        return np.zeros(0, np.int64)
    lo, hi = int(secs.min()) // 86400 * 86400, int(secs.max()) // 86400 * 86400 + 86400

    def off(t: int) -> int:
        delta = dt.datetime.fromtimestamp(t, dt.UTC).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    days = list(range(lo, hi + 1, 86400))
    per_day = [off(t) for t in days]
    if len(set(per_day)) == 1:
        return np.full(secs.shape[0], per_day[0], np.int64)
    quarters = np.empty((hi - lo) // _QUARTER, np.int64)
    per_q = 86400 // _QUARTER
    for i in range(len(days) - 1):
        if per_day[i] == per_day[i + 1]:
            quarters[i * per_q:(i + 1) * per_q] = per_day[i]
        else:
            quarters[i * per_q:(i + 1) * per_q] = [off(days[i] + q * _QUARTER) for q in range(per_q)]
    return quarters[(np.asarray(secs, np.int64) - lo) // _QUARTER]


#: "00" … "99" as bytes: two digits by one gather
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode("ascii"), np.uint8).reshape(100, 2)


def _dates(first: int, last: int) -> np.ndarray:
    """`YYYY-MM-DD` of the days first … last since 1970-01-01, 10 bytes each (a few days per answer)."""
    text = "".join((dt.date(1970, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(first, last + 1))
    return np.frombuffer(text.encode("ascii"), np.uint8).reshape(-1, 10)


def iso_local_field(secs: np.ndarray) -> np.ndarray:
    """Unix seconds as `clock.iso_local` writes them (`2022-03-21T08:05:09+08:00`), 25 bytes a row."""
    secs = np.asarray(secs, np.int64)
    if secs.size == 0:
        return np.zeros((0, 25), np.uint8)
    offset = _offsets(secs)
    if (offset % 60).any():  # an offset with seconds (local mean time before 1900): as Python writes it
        text = [clock.iso_local(dt.datetime.fromtimestamp(t, dt.UTC)) for t in secs.tolist()]
        width = max((len(x) for x in text), default=0)
        return np.frombuffer("".join(x.ljust(width, "\0") for x in text).encode("ascii"),
                             np.uint8).reshape(-1, width).copy()
    local = secs + offset
    days, sod = np.divmod(local, 86400)
    d0 = int(days.min()) if days.size else 0
    out = np.empty((secs.shape[0], 25), np.uint8)
    out[:, 0:10] = _dates(d0, int(days.max()) if days.size else 0)[days - d0]
    out[:, 10] = ord("T")
    out[:, 11:13] = _PAIRS[sod // 3600]
    out[:, 13] = ord(":")
    out[:, 14:16] = _PAIRS[sod // 60 % 60]
    out[:, 16] = ord(":")
    out[:, 17:19] = _PAIRS[sod % 60]
    offsets, which = np.unique(offset, return_inverse=True) if offset.size > 1 and offset.min() != offset.max() \
        else (offset[:1], np.zeros(offset.shape[0], np.intp))
    zones = np.frombuffer("".join(("-" if o < 0 else "+") + f"{abs(o) // 3600:02d}:{abs(o) % 3600 // 60:02d}"
                                  for o in offsets.tolist()).encode("ascii"), np.uint8).reshape(-1, 6)
    out[:, 19:25] = zones[which] if zones.shape[0] > 1 else zones[0]
    return out


def iso_local(secs: np.ndarray) -> np.ndarray:
    """`iso_local_field` as Python strings (numpy unicode array)."""
    field = iso_local_field(secs)
    return np.ascontiguousarray(field).view(f"S{field.shape[1]}").ravel().astype(str)


def gap_field(minutes: np.ndarray) -> np.ndarray:
    """Floats already rounded to 2 decimals as Python's repr writes them (`5.0`, `-12.35`, `0.1`)."""
    g = np.asarray(minutes, np.float64)
    hundredths = np.rint(np.abs(g) * 100).astype(np.int64)
    whole = int_field(hundredths // 100)
    frac = hundredths % 100
    out = np.zeros((g.shape[0], whole.shape[1] + 4), np.uint8)
    out[:, 0] = np.where(np.signbit(g), ord("-"), 0)
    out[:, 1:1 + whole.shape[1]] = whole
    out[:, -3] = ord(".")
    out[:, -2] = (frac // 10).astype(np.uint8) + _ZERO
    out[:, -1] = np.where(frac % 10 != 0, (frac % 10).astype(np.uint8) + _ZERO, 0)
    return out


def text_cells(rows: Sequence[Sequence[str]]) -> np.ndarray:
    """A few text cells per entry (e.g. a venue's ref and name), neutralised and quoted as `csv.writer`
    writes them, one byte row per entry (NUL-padded; a NUL inside the text is dropped)."""
    encoded = []
    for cells in rows:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([neutralise(c.replace("\0", "")) for c in cells])
        encoded.append(buf.getvalue().encode("utf-8"))
    width = max((len(e) for e in encoded), default=1) or 1
    return np.frombuffer(b"".join(e.ljust(width, b"\0") for e in encoded) or b"\0", np.uint8
                         ).reshape(-1, width)[:len(encoded)].copy() if encoded else np.zeros((0, width), np.uint8)


def join_fields(fields: Sequence[np.ndarray]) -> bytes:
    """CSV lines from fields laid side by side (commas between, CRLF after), the NUL padding dropped."""
    n = fields[0].shape[0]
    width = sum(f.shape[1] for f in fields) + len(fields) - 1 + 2
    out = np.empty((n, width), np.uint8)
    col = 0
    for i, f in enumerate(fields):
        out[:, col:col + f.shape[1]] = f
        col += f.shape[1]
        if i < len(fields) - 1:
            out[:, col] = ord(",")
            col += 1
    out[:, col] = ord("\r")
    out[:, col + 1] = ord("\n")
    flat = out.reshape(-1)
    return flat[flat != 0].tobytes()
