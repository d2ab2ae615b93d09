"""cloud-base-backup: domain (use cases and ports), adapters, entrypoints (the CLI).

The three live in the repository's top-level folders; this package gives them one installed
name, so `domain`, `adapters` and `entrypoints` never collide with other distributions' modules.
In a source checkout its subpackages are symlinks to those folders; the wheel maps them
(pyproject.toml [tool.setuptools.package-dir])."""
