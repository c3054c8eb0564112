"""`python -m components.logging.retention_job`: converge Elasticsearch to the desired state."""

import sys

from components.logging.retention_job.converge import main

sys.exit(main())
