# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Greedy BILUO decoding for spaCy's transition-based NER, without the per-token GIL round trips.

spaCy 3.8's compiled parser loop acquires and releases the GIL inside ``StateC::B``/``B_`` on every
validity check (several times per token and move): on this machine that is ~70% of the NER component's
time. This module runs the same greedy search over the same precomputed hidden features the parser's step
model uses (``lower`` output with its padding row, the ``upper`` layer's weights, the unseen-class mask),
with the same move validity rules as ``spacy/pipeline/_parser_internals/ner.pyx`` (preset entities,
sentence starts, whitespace tokens) and the same feature tokens as ``StateC.set_context_tokens``.
``detectors.ner_fast`` feeds it and checks the result against spaCy's own parser in the tests.
"""

from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memset
from libc.stdint cimport uint64_t, int32_t, uint8_t

# move kinds, as spaCy's ner.pyx numbers them
cdef enum:
    MISSING = 0
    BEGIN = 1
    IN = 2
    LAST = 3
    UNIT = 4
    OUT = 5


cdef struct State:
    int doc          # index of the doc in the batch
    int offset       # index of the doc's first token in the batch
    int length
    int b            # buffer position (next token)
    int ent_open
    int ent_start
    uint64_t ent_label


cdef inline bint _valid(int kind, uint64_t label, const State* st, const int32_t* iob, const uint64_t* etype,
                        const int32_t* sent_start, const uint8_t* space) noexcept nogil:
    cdef int t0 = st.offset + st.b
    cdef int has1 = st.b + 1 < st.length
    cdef int t1 = t0 + 1
    cdef int iob0 = iob[t0]
    cdef uint64_t type0 = etype[t0]
    cdef int iob1 = iob[t1] if has1 else 0
    cdef int ss1 = sent_start[t1] if has1 else 0
    cdef int buffer_length = st.length - st.b
    if kind == BEGIN:
        if st.ent_open:
            return False
        if buffer_length < 2:
            return False
        elif label == 0:
            return False
        elif iob0 == 1:
            return False
        elif iob0 == 3:
            if label != type0:
                return False
            elif iob1 != 1:
                return False
            return True
        elif iob1 == 3:
            return False
        elif ss1 == 1:
            return False
        elif space[t0]:
            return False
        return True
    elif kind == IN:
        if not st.ent_open:
            return False
        if buffer_length < 2:
            return False
        if label == 0:
            return False
        elif st.ent_label != label:
            return False
        elif iob0 == 3:
            return False
        elif iob1 == 3:
            return False
        elif iob0 == 1:
            if iob1 == 0 or iob1 == 2:
                return False
            elif label != type0:
                return False
            return True
        elif has1 and ss1 == 1:
            return False
        return True
    elif kind == LAST:
        if label == 0:
            return False
        elif not st.ent_open:
            return False
        elif iob0 == 1 and iob1 != 1:
            return label == type0
        elif st.ent_label != label:
            return False
        elif iob1 == 1:
            return False
        return True
    elif kind == UNIT:
        if label == 0:
            return type0 == 0 and iob0 == 3
        elif st.ent_open:
            return False
        elif iob1 == 1:
            return False
        elif iob0 == 3:
            return label == type0
        elif space[t0]:
            return False
        return True
    elif kind == OUT:
        if st.ent_open:
            return False
        elif iob0 == 3 or iob0 == 1:
            return False
        return True
    return False


cdef inline void _context(const State* st, int n, int* ids) noexcept nogil:
    """``StateC.set_context_tokens`` for the NER feature sets (3 or 6 tokens), batch-global token ids."""
    cdef int i, j
    cdef int b0 = st.b if st.b < st.length else -1
    if n == 3:
        ids[0] = b0
        ids[1] = st.ent_start if st.ent_open else -1
        ids[2] = -1 if (ids[0] == -1 or ids[1] == -1) else ids[0] - 1
    else:
        for i in range(n):
            ids[i] = -1
        if b0 >= 0:
            ids[0] = b0
        if st.ent_open:
            j = 1
            for i in range(st.ent_start, b0):
                ids[j] = i
                j += 1
                if j >= 6:
                    break
    for i in range(n):
        ids[i] = ids[i] + st.offset if ids[i] >= 0 else -1


def decode(const float[:, ::1] cached, const float[::1] feat_bias, object upper_W, object upper_b,
           const float[::1] class_mask, const int32_t[::1] move_kind, const uint64_t[::1] move_label,
           const int32_t[::1] lengths, const int32_t[::1] ent_iob, const uint64_t[::1] ent_type,
           const int32_t[::1] sent_start, const uint8_t[::1] is_space, int n_feats, int n_hidden, int n_pieces):
    """Entities per doc: a list of ``[(start, end, label), ...]`` (token offsets) for each of ``lengths``.

    ``cached``: (tokens + 1, n_feats * n_hidden * n_pieces), row 0 the padding; ``upper_W`` (classes, n_hidden)
    and ``upper_b`` or ``None`` for a model without an upper layer (its hidden layer is the class scores).
    """
    cdef int n_docs = lengths.shape[0]
    cdef int n_classes = move_kind.shape[0]
    cdef int O = n_hidden * n_pieces
    cdef const float[:, ::1] W
    cdef const float[::1] Wb
    cdef bint has_upper = upper_W is not None
    if has_upper:
        W = upper_W
        Wb = upper_b
        if W.shape[0] != n_classes or W.shape[1] != n_hidden:
            raise ValueError("upper layer shape does not match the moves")
    elif n_hidden != n_classes:
        raise ValueError("a model without an upper layer needs one hidden unit per move")
    if cached.shape[1] != n_feats * O:
        raise ValueError("precomputed features do not match n_feats * n_hidden * n_pieces")
    cdef bint any_unseen = False
    cdef int c
    for c in range(n_classes):
        if class_mask[c] == 0:
            any_unseen = True
    out = [[] for _ in range(n_docs)]
    cdef State* states = <State*>calloc(max(n_docs, 1), sizeof(State))
    cdef float* unmaxed = <float*>malloc(max(n_docs, 1) * O * sizeof(float))
    cdef float* hidden = <float*>malloc(max(n_docs, 1) * n_hidden * sizeof(float))
    cdef float* scores = <float*>malloc(max(n_docs, 1) * n_classes * sizeof(float))
    cdef int ids[6]
    cdef int n_states = 0, offset = 0, i, f, j, k, p, best, which, kept, t
    cdef float acc, mode, min_
    cdef const float* feature
    cdef float* row
    cdef State* st
    if states == NULL or unmaxed == NULL or hidden == NULL or scores == NULL:
        free(states); free(unmaxed); free(hidden); free(scores)
        raise MemoryError()
    try:
        for i in range(n_docs):
            if lengths[i] > 0:
                states[n_states].doc = i
                states[n_states].offset = offset
                states[n_states].length = lengths[i]
                n_states += 1
            offset += lengths[i]
        if offset + 1 != cached.shape[0]:
            raise ValueError("precomputed features do not match the token count")
        while n_states > 0:
            # hidden layer: sum of the context tokens' precomputed rows (padding for none), bias, maxout
            for i in range(n_states):
                _context(&states[i], n_feats, ids)
                row = &unmaxed[i * O]
                memset(row, 0, O * sizeof(float))
                for f in range(n_feats):
                    feature = &cached[ids[f] + 1 if ids[f] >= 0 else 0, f * O]
                    for j in range(O):
                        row[j] += feature[j]
                for j in range(O):
                    row[j] += feat_bias[j]
                for j in range(n_hidden):
                    which = 0
                    mode = row[j * n_pieces]
                    for p in range(1, n_pieces):
                        if row[j * n_pieces + p] > mode:
                            mode = row[j * n_pieces + p]
                            which = p
                    hidden[i * n_hidden + j] = row[j * n_pieces + which]
            # output layer
            if has_upper:
                for i in range(n_states):
                    for c in range(n_classes):
                        acc = 0
                        for k in range(n_hidden):
                            acc += hidden[i * n_hidden + k] * W[c, k]
                        scores[i * n_classes + c] = acc + Wb[c]
            else:
                for i in range(n_states * n_classes):
                    scores[i] = hidden[i]
            if any_unseen:
                min_ = scores[0]
                for i in range(1, n_states * n_classes):
                    if scores[i] < min_:
                        min_ = scores[i]
                for i in range(n_states):
                    for c in range(n_classes):
                        if class_mask[c] == 0:
                            scores[i * n_classes + c] = min_
            # best valid move per state, then the move
            kept = 0
            for i in range(n_states):
                st = &states[i]
                best = -1
                for c in range(n_classes):
                    if _valid(move_kind[c], move_label[c], st, &ent_iob[0], &ent_type[0], &sent_start[0],
                              &is_space[0]):
                        if best == -1 or scores[i * n_classes + c] > scores[i * n_classes + best]:
                            best = c
                if best == -1:
                    continue  # spaCy forces the state final; an open entity is dropped
                k = move_kind[best]
                if k == BEGIN:
                    st.ent_open = 1
                    st.ent_start = st.b
                    st.ent_label = move_label[best]
                elif k == LAST:
                    out[st.doc].append((st.ent_start, st.b + 1, st.ent_label))
                    st.ent_open = 0
                elif k == UNIT:
                    out[st.doc].append((st.b, st.b + 1, move_label[best]))
                st.b += 1
                if st.b < st.length:
                    states[kept] = states[i]
                    kept += 1
            n_states = kept
    finally:
        free(states)
        free(unmaxed)
        free(hidden)
        free(scores)
    return out
