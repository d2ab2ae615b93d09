"""Test infrastructure: throwaway PostgreSQL clusters, a moto S3 server and the real barman tools."""
