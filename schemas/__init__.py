"""Rules: pandera (polars) data contracts and sanitization. No I/O here."""
