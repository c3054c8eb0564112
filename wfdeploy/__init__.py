"""wfdeploy: validate, render, verify, promote and roll back stages of the workflow platform."""
