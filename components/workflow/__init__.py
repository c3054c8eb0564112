"""The workflow service: the component in `component`, the facts other concerns read in `facts`."""
