"""The workflow platform's policies (see `rules.build_policies`), importable without starting a pack."""
