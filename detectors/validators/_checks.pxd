# The C-level checks the scanner's core calls on candidate bytes (``detectors/_scan_core.pyx``), without a Python
# call per candidate. Each has a Python-facing twin in _checks.pyx that the references are tested against.
cdef int ric18_bytes(const unsigned char* b, int today) noexcept
cdef bint mainland_province(const unsigned char* b) noexcept
cdef int luhn_bytes(const unsigned char* d, int n) noexcept
cdef int distinct_bytes(const unsigned char* d, int n) noexcept
