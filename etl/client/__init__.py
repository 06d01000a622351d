"""LeadGenius HTTP client: auth, rate limiting, retries, error mapping, pagination."""
