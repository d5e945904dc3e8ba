"""`monban --help` and every subcommand's `--help` describe each option and its default."""

from __future__ import annotations

import argparse

import pytest

from monban.cli import build_parser, main


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser, _commands = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_subcommand_has_a_handler_and_a_summary() -> None:
    parser, commands = build_parser()
    assert (
        set(_subcommands())
        == set(commands)
        == {
            "serve",
            "simulate",
            "revoke-role-sessions",
            "revoke-session",
            "rotate-master-key",
            "keys",
            "oidc",
            "audit",
        }
    )
    text = parser.format_help()
    for name in commands:
        assert name in text
    assert "monban COMMAND --help" in text


def _leaves(parser: argparse.ArgumentParser, name: str) -> dict[str, argparse.ArgumentParser]:
    """Every command that runs something, nested ones (``oidc token``) included."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {name: parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for child, sub in subs[0].choices.items():
        found.update(_leaves(sub, f"{name} {child}".strip()))
    return found


LEAVES = _leaves(build_parser()[0], "")


def test_every_command_is_walked() -> None:
    assert {"serve", "simulate", "rotate-master-key", "oidc token", "oidc jwks"} <= set(LEAVES)


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_argument_is_described_with_its_default(name: str) -> None:
    parser = LEAVES[name]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, (name, action.dest)
        optional = bool(action.option_strings) or action.nargs == "?"
        if optional and action.required is False:
            assert "(default: " in action.help, (name, action.dest, action.help)


def test_serve_help_shows_the_real_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for shown in (
        "--host HOST address to listen on (default: 127.0.0.1)",
        "--port PORT TCP port (default: 4747)",
        "(default: $MONBAN_DATA_DIR, else ~/.local/share/monban)",
        "--workers N worker processes (default: 1)",
        "(default: 900, AWS's floor)",
        "(default: warning)",
        "0 writes no audit trail (default: 4)",  # the audit trail is on unless turned off
        "beyond this size (default: 104857600)",
    ):
        assert shown in text


def test_simulate_help_names_its_file_not_a_remainder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: monban simulate [-h] [FILE]" in text
    assert "(default: -, standard input)" in text
    assert "rest" not in text
