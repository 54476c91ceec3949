"""Truck e-passes (重点物资运输车辆通行证): signed tokens, keys, issuing, revocation and verification."""
