"""Quarantine-site use cases: sites and rooms, rooms for measures, capacity, extensions, measures
taken over from another system."""
