"""A stand-in `kubectl` for the cluster path of `wfdeploy verify`, backed by pod-like local sandboxes.

There is no cluster here, so this script answers the three calls verify
makes — `get pods -l … -o json`, `port-forward svc/… L:R` and testinfra's
`exec POD -- /bin/sh -c CMD` — from a JSON state file: pods map to sandboxes
started with `pod=True` (exec enters their mount, PID and network namespaces
as the container's user, like `kubectl exec`), Services to local addresses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SCRIPT = r'''#!/usr/bin/python3
import json, os, socket, sys, threading

state = json.load(open(os.environ["FAKE_KUBECTL_STATE"]))
args, namespace, container = sys.argv[1:], "default", None
rest = []
while args:
    arg = args.pop(0)
    if arg == "--":  # the command run in the container: not kubectl's options
        rest += [arg, *args]
        break
    if arg in ("--context", "--kubeconfig"):
        args.pop(0)
    elif arg.startswith(("--context=", "--kubeconfig=")):
        pass
    elif arg == "-n":
        namespace = args.pop(0)
    elif arg == "-c":
        container = args.pop(0)
    else:
        rest.append(arg)

verb = rest[0]
if verb == "get" and rest[1] == "pods":
    selector = rest[rest.index("-l") + 1]
    names = state["pods"].get(f"{namespace}/{selector}", [])
    print(json.dumps({"items": [{"metadata": {"name": n}, "status": {"phase": "Running"}} for n in names]}))
elif verb == "exec":
    pod = rest[1]
    pid = state["exec"].get(f"{namespace}/{pod}/{container}")
    if pid is None:
        sys.exit(f'Error from server (NotFound): pods "{pod}" not found')
    command = rest[rest.index("--") + 1:]
    ids = {line.split(":")[0]: line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith(("Uid", "Gid"))}
    os.execvp("nsenter", ["nsenter", "--target", str(pid), "--mount", "--pid", "--net", "--",
                          "setpriv", f"--reuid={ids['Uid']}", f"--regid={ids['Gid']}", "--clear-groups", *command])
elif verb == "port-forward":
    service, ports = rest[-2], rest[-1]
    target = state["forwards"].get(f"{namespace}/{service}")
    if target is None:
        sys.exit(f'Error from server (NotFound): services "{service.split("/")[-1]}" not found')
    host, port = target.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", int(ports.split(":")[0])))

    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
else:
    sys.exit(f"fake kubectl: unsupported call {sys.argv[1:]}")
'''


def install_fake_kubectl(directory: Path, pods: dict[str, list[str]], exec_pids: dict[str, int],
                         forwards: dict[str, str]) -> dict[str, str]:
    """Write `kubectl` and its state into `directory`; returns the environment variables that select it.

    pods: "NAMESPACE/SELECTOR" -> pod names; exec_pids: "NAMESPACE/POD/CONTAINER" -> host PID of the
    sandboxed program; forwards: "NAMESPACE/svc/NAME" -> "127.0.0.1:PORT".
    """
    directory.mkdir(parents=True, exist_ok=True)
    state = directory / "state.json"
    state.write_text(json.dumps({"pods": pods, "exec": exec_pids, "forwards": forwards}))
    script = directory / "kubectl"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    return {"FAKE_KUBECTL_STATE": str(state), "PATH": f"{directory}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
