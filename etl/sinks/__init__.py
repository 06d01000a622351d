"""Sinks: the LeadGenius single-lead loader and the Parquet/CSV/NDJSON writers."""
