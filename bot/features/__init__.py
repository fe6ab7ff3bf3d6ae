"""One module per capability; each exposes `register(application)`."""
