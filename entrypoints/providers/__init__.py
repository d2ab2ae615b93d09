"""One module per --cloud-provider: its option rules and the adapters it builds, as ports."""
