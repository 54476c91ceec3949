"""`fangkong epass verifier-page --out DIR`: one static HTML file that verifies passes offline (离线核验页).

The key ring and the signed revocation list are built into the page; it needs no server and no
network (open it from a phone's files in airplane mode). The page checks the list's signature when it
opens and refuses to verify when it fails, then gives every scanned text the platform's verdict in the
same order (the JavaScript below mirrors `token.py`'s CORE section; tests run the same tokens through
both). Signatures use the browser's WebCrypto Ed25519 (Chromium ≥ 137, Firefox ≥ 130, Safari ≥ 17);
a browser without it says so instead of guessing. No QR library is vendored in `web/`, so the camera
uses `BarcodeDetector` where the browser has it, and the text can always be pasted (or the QR link
opened: its `#TOKEN` fills the box).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from fangkong.checkpoints.epass import keys as keys_service
from fangkong.checkpoints.epass import service
from fangkong.checkpoints.epass import token as tk
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor

TEMPLATE = Path(__file__).resolve().parent / "offline" / "verifier.html"


def render(ring: dict, crl: str, *, made_at: str) -> str:
    """The page with the ring and the list built in (JSON in a non-executed script element)."""
    data = json.dumps({"ring": ring, "crl": crl, "made_at": made_at, "reasons": tk.REASONS_ZH,
                       "roles": tk.ROLES_ZH}, ensure_ascii=False)
    data = data.replace("<", "\\u003c")  # nothing in the data can close the script element
    return TEMPLATE.read_text(encoding="utf-8").replace("__EPASS_DATA__", data)


def write(session: Session, actor: Actor, out: Path) -> Path:
    """Write DIR/index.html; returns its path. The list is signed now (audited as a list)."""
    actor.require("epass.revoke")
    keys_service.signing_key(session, actor)
    ring = keys_service.export_ring(session)
    crl = service.revocation_list(session, actor)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(render(ring, crl, made_at=clock.iso_local(clock.now())), encoding="utf-8")
    audit.record(session, actor, "epass.verifier_page", object_type="epass", keys=len(ring["keys"]))
    return path
