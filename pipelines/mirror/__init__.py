"""The raw mirror: staged rows kept across nights, merged by content hash."""
