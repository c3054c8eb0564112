"""The edge (Envoy Gateway, rate limits, TLS): the component in `component`, the facts other concerns read in `facts`."""
