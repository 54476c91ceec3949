"""Control (管控): measures in force (quarantine, home measures), their schedules; sites and release later."""
