"""Reference workflow service: the service and metric contract of DESIGN.md, with switchable faults.

Standard library only, so tests, the verification suite and a local container
image can all run it. See README.md for its interface.
"""
