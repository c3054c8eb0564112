"""The render wing: offline synthesis (`synth`), the writer of build/<stage>/ (`writer`), its gates and artifacts."""
