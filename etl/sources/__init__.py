"""Sources: read CSV files and HubSpot into polars frames of raw strings."""
