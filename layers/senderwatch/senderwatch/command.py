"""The `senderwatch` console script: loads the command, so that Ctrl-C even while it loads ends quietly."""

import gc
import sys

# A command is a short process whose objects nearly all live until it ends (the modules it loads;
# a check's verdicts, kept until its report is written): CPython's collector, run every 700 new
# objects (2,000 from 3.13), walks them again and again for no garbage - about 30 ms of a
# 1,000-address check. Every 50,000 still collects what cycles a long `bounces` leaves behind.
FIRST_GENERATION = 50_000


def main() -> int:
    gc.set_threshold(FIRST_GENERATION)
    try:
        from .commands import main as run
    except KeyboardInterrupt:
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
