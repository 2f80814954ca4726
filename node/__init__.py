"""coopfed's node: the co-op's server, storage, federation loop and command line."""
