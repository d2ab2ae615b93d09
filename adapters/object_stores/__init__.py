"""ObjectStore adapters: S3, Azure Blob, GCS, and the in-memory store used by tests and the demo."""
