"""The `senderwatch` console script: loads the command, so that Ctrl-C even while it loads ends quietly."""

import sys


def main() -> int:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
