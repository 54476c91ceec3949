"""Control (管控): measures in force (quarantine, home measures, monitoring), their schedules and due tests,
and the one control status of a person every page reads; release and site check-ins come later."""
