"""Contract suites, one per port, run against every adapter and the in-memory fakes."""
