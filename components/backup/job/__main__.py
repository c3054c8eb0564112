"""`python -m components.backup.job`: run one command of the backup job."""

import sys

from components.backup.job.commands import main

sys.exit(main())
