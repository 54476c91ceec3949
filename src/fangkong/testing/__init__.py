"""Testing of key groups (应检尽检、应纳尽纳): groups, enrolment, sampling and pools, lab results, compliance."""
