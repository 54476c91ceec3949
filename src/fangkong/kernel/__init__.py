"""The kernel: what every capability stands on (db, clock, jurisdictions, people, places, tasks, auth,
audit, policy, web shell). The kernel imports no capability."""
