"""Labels of e-pass codes (电子通行证): verdicts and reasons, application fields, audit actions."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

VERDICTS = labels("epass_verdict", {"valid": _("Valid"), "invalid": _("Invalid")})
REASONS = labels("epass_reason", {
    "malformed": _("Malformed"), "unsupported_alg": _("Unsupported signature algorithm"),
    "unknown_key": _("Unknown signing key"), "bad_signature": _("Invalid signature"),
    "bad_claims": _("Pass content not as specified"), "issuer_mismatch": _("Issuer does not match the number"),
    "revoked": _("Revoked"), "not_yet_valid": _("Not yet valid"), "expired": _("Expired"),
    "plate_mismatch": _("Plate does not match"),
})
ROLES = labels("epass_role", {"driver": _("Driver"), "crew": _("Crew")})
FIELDS = labels("field", {
    "plate": _("Plate"), "cargo": _("Cargo"), "destination": _("Destination"),
    "receiver": _("Receiver"), "valid_from": _("Valid from"), "valid_until": _("Valid until"),
    "pass_no": _("Pass number"), "driver_name": _("Driver's name"), "driver_id_number": _("Driver's ID number"),
    "driver_phone": _("Driver's phone"), "driver_tested_at": _("Driver's sampling time"),
    "crew1_name": _("Crew 1 name"), "crew1_id_number": _("Crew 1 ID number"), "crew1_phone": _("Crew 1 phone"),
    "crew1_tested_at": _("Crew 1 sampling time"), "crew2_name": _("Crew 2 name"),
    "crew2_id_number": _("Crew 2 ID number"), "crew2_phone": _("Crew 2 phone"),
    "crew2_tested_at": _("Crew 2 sampling time"), "token": _("Pass QR text"),
})
RECORDS = labels("record", {"epass": _("e-pass"), "epass_key": _("e-pass key")})
AUDIT_ACTIONS = labels("audit_action", {
    "epass.issued": _("E-passes issued"), "epass.revoked": _("E-pass revoked"),
    "epass.crl_signed": _("E-pass revocation list signed"), "epass.key_rotated": _("E-pass signing key rotated"),
    "epass.keys_trusted": _("Another issuer's e-pass keys trusted"),
    "epass.verifier_page": _("Offline e-pass verifier page written"),
})
