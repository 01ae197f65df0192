"""`connect doctor`: checks of this machine, the config and the server, as data."""
