"""Venue codes (场所码), scans and co-location (时空伴随)."""
