# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The checksums the hot path runs on nearly every candidate, compiled: GB 11643-1999 MOD 11-2 with its date and
province rules (``cn_ric.is_valid`` on 18-character values) and Luhn (``luhn.checksum``, the bank-card check).

The Python functions in ``cn_ric.py`` and ``luhn.py`` stay the readable reference (``is_valid_py``,
``checksum_py``); ``tests/detectors/test_compiled_checks.py`` holds these to them on random and edge-case values.
Anything outside the fast path's contract (a length other than 18, non-ASCII characters) is answered by the caller's
Python reference, so the compiled functions only ever see what they were written for.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_READ, PyUnicode_KIND, PyUnicode_DATA

cdef int WEIGHTS[17]
WEIGHTS[:] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
cdef long CHECK_CHARS[11]
CHECK_CHARS[:] = [49, 48, 88, 57, 56, 55, 54, 53, 52, 51, 50]  # "10X98765432"
cdef int DAYS[13]
DAYS[:] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
cdef unsigned char PROVINCES[100]


def set_provinces(provinces):
    """The province-level prefixes (``cn_ric.MAINLAND_PROVINCES``): the one table, handed in at import."""
    cdef int i
    for i in range(100):
        PROVINCES[i] = 0
    for p in provinces:
        PROVINCES[int(p)] = 1


def ric18(str value, int today):
    """``cn_ric.is_valid`` for an 18-character value; ``today`` is YYYYMMDD as an int. Returns -1 when ``value``
    is not 18 characters (the caller answers those)."""
    cdef int kind = PyUnicode_KIND(value)
    cdef void* data = PyUnicode_DATA(value)
    cdef Py_ssize_t i
    cdef long c
    cdef unsigned char b[18]
    if PyUnicode_GET_LENGTH(value) != 18:
        return -1
    for i in range(18):
        c = <long>PyUnicode_READ(kind, data, i)
        b[i] = <unsigned char>c if c < 128 else 0  # anything beyond ASCII fails as a non-digit
    return ric18_bytes(b, today) == 1


cdef int ric18_bytes(const unsigned char* b, int today) noexcept:
    """The check of ``ric18`` on 18 bytes: 1 valid, 0 not (the scanner's core calls it on ASCII candidates)."""
    cdef int i, s = 0, y, m, d
    cdef int dg[18]
    cdef long c
    for i in range(17):
        c = b[i]
        if c < 48 or c > 57:
            return 0
        dg[i] = c - 48
        s += dg[i] * WEIGHTS[i]
    c = b[17]
    if c == 120:  # x
        c = 88  # X
    if CHECK_CHARS[s % 11] != c:
        return 0
    y = dg[6] * 1000 + dg[7] * 100 + dg[8] * 10 + dg[9]
    m = dg[10] * 10 + dg[11]
    d = dg[12] * 10 + dg[13]
    if m < 1 or m > 12 or d < 1 or d > DAYS[m]:
        return 0
    if m == 2 and d == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        return 0
    if y * 10000 + m * 100 + d > today:
        return 0
    if PROVINCES[dg[0] * 10 + dg[1]]:
        return 1
    if dg[0] == 9:
        return 1
    # 810000 / 820000 / 830000: the Hong Kong, Macao and Taiwan residence permits
    return 1 if (dg[0] == 8 and 1 <= dg[1] <= 3 and dg[2] == 0 and dg[3] == 0 and dg[4] == 0 and dg[5] == 0) else 0


cdef bint mainland_province(const unsigned char* b) noexcept:
    """Whether two ASCII digits are a mainland province code (``cn_ric.MAINLAND_PROVINCES``)."""
    if b[0] < 48 or b[0] > 57 or b[1] < 48 or b[1] > 57:
        return False
    return PROVINCES[(b[0] - 48) * 10 + b[1] - 48] != 0


def luhn(str number):
    """``luhn.checksum`` (the Luhn sum mod 10, 0 = valid) of an ASCII digit string; -1 when ``number`` holds
    anything else (the caller answers those)."""
    if not (number.isascii() and number.isdigit()):
        return -1
    cdef bytes b = number.encode("ascii")
    return luhn_bytes(<const unsigned char*>PyBytes_AS_STRING(b), <int>PyBytes_GET_SIZE(b))


cdef int luhn_bytes(const unsigned char* d, int n) noexcept:
    """``luhn`` on ``n`` ASCII digit bytes (the caller has checked they are digits)."""
    cdef int i, s = 0, v, odd = 1
    for i in range(n - 1, -1, -1):
        v = d[i] - 48
        if not odd:
            v = 2 * v - 9 if v > 4 else 2 * v
        s += v
        odd = not odd
    return s % 10


cdef int distinct_bytes(const unsigned char* d, int n) noexcept:
    """``distinct_digits`` on ``n`` ASCII digit bytes."""
    cdef int i, seen = 0, k = 0
    for i in range(n):
        if not (seen >> (d[i] - 48)) & 1:
            seen |= 1 << (d[i] - 48)
            k += 1
    return k


def distinct_digits(str number):
    """How many different characters an ASCII digit string holds (``len(set(number))``); -1 for anything else."""
    if not (number.isascii() and number.isdigit()):
        return -1
    cdef bytes b = number.encode("ascii")
    return distinct_bytes(<const unsigned char*>PyBytes_AS_STRING(b), <int>PyBytes_GET_SIZE(b))
