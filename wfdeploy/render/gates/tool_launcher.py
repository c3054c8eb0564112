"""A Python gate tool, imported once before there is anything to check, then run for each request on stdin in a fork.

Importing the tool is most of its run time (checkov about 1.8 of 2.1 s per scan, nca
about 0.25 of 0.45 s), so `render --all` starts checkov's launcher before the stages are
written and each pool worker starts one for nca before it synthesizes its first stage.
Run: `<tool's venv>/bin/python -P tool_launcher.py checkov|nca`. Each stdin line is one
JSON request, {"argv": the tool's arguments, "cwd": …, "stdout": file, "stderr": file},
optionally "env" (the whole environment) and "wait": true. It runs in a forked copy of this
process (checkov keeps global state between runs), its output in those files. A request
with "wait" is answered at once with one line, {"code": the tool's exit code}; at the end of
stdin this waits for every other run and prints one JSON object, each one's stdout file ->
its exit code. It runs under the tool's interpreter and imports nothing of this project.
"""

import gc
import importlib
import json
import os
import sys
import traceback
import warnings

#: tool -> (module to import, how one run is called with its arguments)
TOOLS = {
    "checkov": ("checkov.main", lambda module, argv: module.Checkov(argv).run()),
    "nca": ("nca.nca_cli", lambda module, argv: module.nca_main(argv)),
}


def _run(module, call, request):
    """In the forked child: one run, its output in the request's files; never returns."""
    code = 2
    try:
        os.chdir(request["cwd"])
        if "env" in request:
            os.environ.clear()
            os.environ.update(request["env"])
        for descriptor, name in ((1, request["stdout"]), (2, request["stderr"])):
            opened = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, descriptor)
            os.close(opened)
        result = call(module, request["argv"])
        code = result if isinstance(result, int) else 0
    except BaseException:  # a crash is the tool failing: its exit code and traceback say so
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(tool):
    module_name, call = TOOLS[tool]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as checkov's own console script does
        module = importlib.import_module(module_name)
    # the runs are forks of this process: the tool's modules out of the collector's sight (as for prefork servers),
    # and fewer collections during a run, which is short and frees everything when it ends
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    pending = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run(module, call, request)
        if request.get("wait"):
            print(json.dumps({"code": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)
        else:
            pending[pid] = request["stdout"]
    print(json.dumps({output: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid, output in pending.items()}),
          flush=True)
    # no interpreter teardown: freeing checkov's thousands of modules takes longer than a scan, and the caller waits
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
