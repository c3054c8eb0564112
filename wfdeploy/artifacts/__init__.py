"""Artifact writers: each adds files of one concern to build/<stage>/ (see wfdeploy.render.WRITER_MODULES)."""
