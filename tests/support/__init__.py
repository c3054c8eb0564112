"""Real processes for integration tests: a throwaway PostgreSQL cluster and an S3-compatible server."""
