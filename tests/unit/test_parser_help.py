"""--help: every option says what it does and shows its default; -V names the implementation."""

import argparse
import io

import pytest

from cloud_base_backup.entrypoints.parser import build_parser, version_text


def _parser():
    return build_parser("barman-cloud-backup", io.StringIO(), io.StringIO())


def _actions():
    return [a for a in _parser()._actions if a.option_strings or a.dest]


@pytest.mark.parametrize("action", _actions(), ids=lambda a: "/".join(a.option_strings) or a.dest)
def test_every_option_has_a_one_line_help(action):
    assert action.help and action.help is not argparse.SUPPRESS, action.option_strings
    assert "\n" not in action.help


def _with_a_default():
    for action in _actions():
        if action.option_strings and action.default not in (None, False, [], 0, argparse.SUPPRESS):
            yield action


@pytest.mark.parametrize("action", list(_with_a_default()), ids=lambda a: a.option_strings[0])
def test_an_option_with_a_default_shows_it(action):
    formatter = _parser()._get_formatter()
    text = formatter._expand_help(action)
    assert f"default: {action.default}" in text


def test_options_with_a_meaningful_default_are_covered():
    covered = {a.option_strings[0] for a in _with_a_default()}
    assert {"--cloud-provider", "-J", "-S", "-d", "--keepalive-interval"} <= covered


def test_help_is_grouped_like_barman_with_one_section_per_provider():
    text = _parser().format_help()
    sections = [line for line in text.splitlines() if line and not line[0].isspace()
                and line.endswith(":")]
    assert sections[:2] == ["positional arguments:", "options:"]
    for title in ("Compression", "PostgreSQL connection", "Snapshot backups",
                  "Extra options for the aws-s3 cloud provider",
                  "Extra options for the azure-blob-storage cloud provider",
                  "Extra options for the google-cloud-storage cloud provider"):
        assert any(s.startswith(title) for s in sections), title


def test_help_is_long_only_because_h_is_the_host():
    parser = _parser()
    assert parser._option_string_actions["-h"].dest == "host"
    assert "--help" in parser._option_string_actions


def test_version_keeps_barmans_first_line_and_names_the_implementation_second():
    first, second = version_text("barman-cloud-backup").splitlines()
    assert first == "barman-cloud-backup 3.20.1"
    assert second.startswith("cloud-base-backup ")
    assert "not barman" in second
