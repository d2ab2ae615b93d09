"""SnapshotProvider adapters: AWS EC2, Azure Compute, GCP Compute and an in-memory one."""
