"""The Pulumi project's name (`name:` in Pulumi.yaml): the namespace of every key this program reads."""

PROJECT = "workflow-platform"
