"""Entry points: the command line, barman hook mode and the dependency container."""
