"""Co-rating neighbours over every film with ratings, however few: the long tail's collaborative evidence.

EASE covers the head (the most-watched films). A film that three members rated, always
together with the same forty others, is still strong evidence that those films go
together. The neighbours are a random walk on the member-film graph (RP3beta, Paudel
et al. 2017): from a film to the members who have it, each with weight 1 / the number
of their films, then to those members' other films; the arrival film's own popularity is
divided out (to the power beta), so a film does not become everyone's neighbour for being
everywhere. Each film keeps its `kept` strongest neighbours, and a member's score for a
film is the sum of the neighbour weights that their films send to it.

The walk is computed a band of films at a time (a sparse product), so no films x films
matrix is ever dense: a corpus of 100,000 films costs the same memory as one of 10,000.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

NEIGHBOURS_KEPT = 100  # strongest neighbours kept per film
NEIGHBOURS_BETA = 0.5  # popularity penalty of the arrival film
NEIGHBOURS_BLOCK_CELLS = 32 * 1024 * 1024  # a band of films walked from at once is this many floats at most


def co_rating_neighbours(presence: sp.csr_matrix, kept: int = NEIGHBOURS_KEPT, beta: float = NEIGHBOURS_BETA
                         ) -> sp.csr_matrix:
    """Return the films x films neighbour weights of a members x films matrix (rows sum to 1 or 0).

    Row i holds the films that film i sends weight to, as in EASE's layout, so a member's
    scores are `presence_row @ weights`.
    """
    x = sp.csr_matrix(presence, dtype=np.float32, copy=True)
    x.data[:] = 1.0
    n_films = x.shape[1]
    per_member = np.asarray(x.sum(axis=1), dtype=np.float64).ravel()
    per_film = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    # film -> member, each member's step divided by their number of films
    to_members = (x.T.tocsr() @ sp.diags((1.0 / np.maximum(per_member, 1.0)).astype(np.float32))).tocsr()
    to_films = x
    penalty = np.power(np.maximum(per_film, 1.0), -beta).astype(np.float32)
    kept = max(0, min(kept, n_films - 1))
    band = max(1, NEIGHBOURS_BLOCK_CELLS // max(1, n_films))
    pieces = []
    for start in range(0, n_films, band):
        block = (to_members[start:min(n_films, start + band)] @ to_films).tocsr()
        block.data *= penalty[block.indices]
        own = np.repeat(np.arange(start, start + block.shape[0]), np.diff(block.indptr))
        block.data[block.indices == own] = 0.0  # a film is not its own neighbour
        block.eliminate_zeros()
        pieces.append(_strongest(block, kept))
    out = sp.vstack(pieces).tocsr() if pieces else sp.csr_matrix((n_films, n_films), dtype=np.float32)
    sums = np.asarray(out.sum(axis=1), dtype=np.float32).ravel()
    out = (sp.diags(1.0 / np.maximum(sums, np.float32(1e-30))) @ out).tocsr().astype(np.float32)
    out.sort_indices()
    return out


def _strongest(block: sp.csr_matrix, kept: int) -> sp.csr_matrix:
    """Keep each row's `kept` largest entries (ties at the cut all stay); rows with fewer keep every entry."""
    if kept == 0:
        return sp.csr_matrix(block.shape, dtype=np.float32)
    indptr, data = block.indptr, block.data
    for row in np.flatnonzero(np.diff(indptr) > kept).tolist():
        values = data[indptr[row]:indptr[row + 1]]  # a view: the cut is made in place
        cut = np.partition(values, values.size - kept)[values.size - kept]
        values[values < cut] = 0.0
    block.eliminate_zeros()
    return block
