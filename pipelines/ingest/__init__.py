"""Ingest: FHIR files -> landed records -> checked, staged rows (one night's input)."""
