"""Quarantine sites (集中隔离点): sites and rooms hung off a place id, room assignment, transport and
transfers, capacity, extensions when someone under a measure turns positive, and measures taken over
from another system. Part of control: it writes measures only through control's lifecycle."""
