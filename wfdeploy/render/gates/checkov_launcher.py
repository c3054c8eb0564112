"""checkov, started before there is anything to scan: import it now, read its command line (JSON) from stdin, run it.

Importing checkov is most of its run time (about 2 of 2.3 s per scan), so `render --all`
starts this before the stages are written and sends the command line once they are.
It runs under .venv-checkov's interpreter and imports nothing of this project.
Exit code and output are checkov's own; an empty stdin (the render ended early) exits 0.
"""

import json
import sys
import warnings

if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as checkov's own console script does
        from checkov.main import Checkov

        line = sys.stdin.readline()
        if not line.strip():
            sys.exit(0)
        sys.exit(Checkov(json.loads(line)).run())
