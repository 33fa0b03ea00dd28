"""Development tools, not run at night: synthetic cohorts, the bench, README screenshots."""
