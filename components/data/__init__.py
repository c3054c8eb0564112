"""The data tier (PostgreSQL, Redis): the component in `component`, the facts other concerns read in `facts`."""
