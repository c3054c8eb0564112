"""Network policies: the flows table (`flows`), the policies generated from it (`policies`), the component (`component`)."""
