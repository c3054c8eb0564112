"""checkov, started before there is anything to scan: import it once, then scan each folder named on stdin in a fork.

Importing checkov is most of its run time (about 2 of 2.3 s per scan), so `render --all`
starts this before the stages are written and sends each stage as soon as it is written,
so that the scans run while later stages are still being synthesized.
Each stdin line is one JSON request, {"argv": checkov's arguments, "cwd": …, "stdout": file,
"stderr": file}; it runs in a forked copy of this process (checkov keeps global state
between runs), its output in those files. At the end of stdin this waits for every scan and
prints one JSON object, each request's stdout file -> checkov's exit code.
It runs under .venv-checkov's interpreter and imports nothing of this project.
"""

import json
import os
import sys
import traceback
import warnings


def _scan(request):
    """In the forked child: one checkov run, its output in the request's files; never returns."""
    code = 2
    try:
        os.chdir(request["cwd"])
        for descriptor, name in ((1, request["stdout"]), (2, request["stderr"])):
            opened = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, descriptor)
            os.close(opened)
        result = Checkov(request["argv"]).run()
        code = result if isinstance(result, int) else 0
    except BaseException:  # a crash is checkov failing: its exit code and traceback say so
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as checkov's own console script does
        from checkov.main import Checkov

        scans = {}
        for line in sys.stdin:
            if line.strip():
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _scan(request)
                scans[pid] = request["stdout"]
        codes = {output: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid, output in scans.items()}
        print(json.dumps(codes))
