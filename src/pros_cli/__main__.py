"""Console entry point: ``pros`` and ``python -m pros_cli``."""

from __future__ import annotations


def main() -> None:
    from pros_cli.cli.app import main as run

    run()


if __name__ == "__main__":
    main()
