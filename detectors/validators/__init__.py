"""Pure checksum and structure validators: no I/O, no state, no detector imports."""
