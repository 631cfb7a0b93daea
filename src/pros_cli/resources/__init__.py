"""One module per Azure resource kind; :mod:`pros_cli.resources.graph` assembles a deployment."""
