"""Background work that runs inside the server processes: callback delivery (``workers.callbacks``)."""
