"""One detector per identifier; the registry discovers every module here."""
