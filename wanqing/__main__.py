"""`python -m wanqing`: the same command line as the `wanqing` script."""

from wanqing.cli import main

main()
