import sys

from machine_tui.cli.main import main

sys.exit(main())
