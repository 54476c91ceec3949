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


def int_width(a: np.ndarray) -> int:
    """The digits of the largest of non-negative integers (1 for none)."""
    return len(str(int(a.max()))) if a.size else 1


def int_field(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Non-negative integers as decimal digits, right-aligned, NUL before them (into `out`, n ×
    `int_width(a)`, when given): two digits per pass, the leading zeros cleared by one mask."""
    a = np.asarray(a, np.int64)
    if a.size and int(a.min()) < 0:
        raise ValueError("non-negative integers only")
    width = int_width(a)
    if out is None:
        out = np.empty((a.shape[0], width), np.uint8)
    rest = a.copy()
    j = width
    while j > 0:
        rest, pair = np.divmod(rest, 100)
        if j >= 2:
            out[:, j - 2:j] = _pairs(pair)
        else:
            out[:, 0] = _PAIRS[pair, 1]
        j -= 2
    # digits of each value: the columns before them are NUL
    digits = np.searchsorted(_POWERS, a, side="right") + 1
    out[np.arange(width) < (width - digits)[:, None]] = 0
    return out


#: 10, 100, …: a value v ≥ 0 has searchsorted(_POWERS, v, "right") + 1 digits
_POWERS = np.array([10 ** k for k in range(1, 19)], np.int64)


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
#: the same as one uint16 each: a gather of 2-byte items is several times faster than of (n, 2) rows
_PAIRS16 = _PAIRS.copy().view(np.uint16).ravel()


def _pairs(values: np.ndarray) -> np.ndarray:
    """Two ASCII digits of each value 0–99, (n, 2) bytes."""
    return _PAIRS16[values].view(np.uint8).reshape(-1, 2)


def _dates(first: int, last: int) -> np.ndarray:
    """`YYYY-MM-DD` of the days first … last since 1970-01-01, 10 bytes each (a few days per answer)."""
    text = "".join((dt.date(1970, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(first, last + 1))
    return np.frombuffer(text.encode("ascii"), np.uint8).reshape(-1, 10)


def _clock_table(minutes: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DDTHH:MM` (16 bytes) of local minutes since the epoch."""
    days, mod = np.divmod(minutes, 1440)
    d0 = int(days.min()) if days.size else 0
    out = np.empty((minutes.shape[0], 16), np.uint8)
    out[:, 0:10] = _dates(d0, int(days.max()) if days.size else 0)[days - d0]
    out[:, 10] = ord("T")
    out[:, 11:13] = _PAIRS[mod // 60]
    out[:, 13] = ord(":")
    out[:, 14:16] = _PAIRS[mod % 60]
    return out


#: a minute table is made when it has at most this many entries per row formatted (else rows directly)
_TABLE_PER_ROW = 2


def iso_local_field(secs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Unix seconds as `clock.iso_local` writes them (`2022-03-21T08:05:09+08:00`), 25 bytes a row
    (written into `out`, n × 25, when given). The `YYYY-MM-DDTHH:MM` part is gathered, 16 bytes at a
    time, from a table of the minutes the answer spans (an answer's times cluster in a few days)."""
    secs = np.asarray(secs, np.int64)
    if out is None:
        out = np.empty((secs.shape[0], 25), np.uint8)
    if secs.size == 0:
        return out
    offset = _offsets(secs)
    if (offset % 60).any():  # an offset with seconds (local mean time before 1900): as Python writes it
        text = [clock.iso_local(dt.datetime.fromtimestamp(t, dt.UTC)) for t in secs.tolist()]
        width = max((len(x) for x in text), default=0)
        field = np.frombuffer("".join(x.ljust(width, "\0") for x in text).encode("ascii"),
                              np.uint8).reshape(-1, width)
        if width == out.shape[1]:
            out[:] = field
            return out
        return field.copy()
    local = secs + offset
    minute, sec = np.divmod(local, 60)
    m0, m1 = int(minute.min()), int(minute.max())
    if m1 - m0 + 1 <= max(_TABLE_PER_ROW * secs.shape[0], 4096):
        table = np.ascontiguousarray(_clock_table(np.arange(m0, m1 + 1, dtype=np.int64)))
        cells = table.view(np.dtype((np.void, 16))).ravel()[minute - m0]
        out[:, 0:16] = cells.view(np.uint8).reshape(-1, 16)
    else:
        out[:, 0:16] = _clock_table(minute)
    out[:, 16] = ord(":")
    out[:, 17:19] = _pairs(sec)
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


def gap_width(minutes: np.ndarray) -> int:
    g = np.asarray(minutes, np.float64)
    return (int_width(np.rint(np.abs(g) * 100).astype(np.int64) // 100) if g.size else 1) + 4


def gap_field(minutes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Floats already rounded to 2 decimals as Python's repr writes them (`5.0`, `-12.35`, `0.1`)
    (into `out`, n × `gap_width(minutes)`, when given)."""
    g = np.asarray(minutes, np.float64)
    hundredths = np.rint(np.abs(g) * 100).astype(np.int64)
    whole_part, frac = np.divmod(hundredths, 100)
    width = int_width(whole_part) + 4
    if out is None:
        out = np.empty((g.shape[0], width), np.uint8)
    out[:, 0] = np.where(np.signbit(g), ord("-"), 0)
    int_field(whole_part, out[:, 1:width - 3])
    out[:, -3] = ord(".")
    out[:, -2:] = _pairs(frac)
    out[:, -1] *= (frac % 10 != 0)  # 5.10 is written 5.1: the second decimal only when not zero
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


def pair_lines(person: np.ndarray, cells: np.ndarray, subject_t: np.ndarray, covisitor_t: np.ndarray) -> bytes:
    """The CSV lines of co-location pairs (co-visitor, the venue's `ref,name` cells, the two times as
    local ISO 8601, the gap in minutes): every field written in place into one byte matrix (NUL
    padding), the padding dropped by one mask — `join_fields` of the same fields, without their copies."""
    n = person.shape[0]
    gap = np.round((covisitor_t - subject_t) / 60.0, 2)
    widths = [int_width(person), cells.shape[1], 25, 25, gap_width(gap)]
    out = np.empty((n, sum(widths) + len(widths) - 1 + 2), np.uint8)
    col = 0
    for i, w in enumerate(widths):
        view = out[:, col:col + w]
        if i == 0:
            int_field(person, view)
        elif i == 1:
            view[:] = cells
        elif i == 2:
            iso_local_field(subject_t, view)
        elif i == 3:
            iso_local_field(covisitor_t, view)
        else:
            gap_field(gap, view)
        col += w
        if i < len(widths) - 1:
            out[:, col] = ord(",")
            col += 1
    out[:, col] = ord("\r")
    out[:, col + 1] = ord("\n")
    flat = out.reshape(-1)
    return flat[flat != 0].tobytes()


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
