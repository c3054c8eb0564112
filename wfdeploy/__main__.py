import sys

from wfdeploy.cli import main

sys.exit(main())
