"""The local wing: `wfdeploy up/down` runs a stage's own pods under podman (tier, play plan, images, loopback stand-ins)."""
