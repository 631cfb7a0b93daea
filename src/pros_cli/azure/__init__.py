"""The Azure layer: client factory (lazy imports, one credential) and error mapping."""
