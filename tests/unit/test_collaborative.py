"""EASE through the members' side and from one eigendecomposition equals EASE by direct inversion."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from services.recsys.collaborative import GramSpectrum, ease_pair, member_gram


def presence_and_liked(n_members: int, n_films: int, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    watched = rng.random((n_members, n_films)) < 0.3
    liked = watched & (rng.random((n_members, n_films)) < 0.5)
    return sp.csr_matrix(watched.astype(np.float32)), sp.csr_matrix(liked.astype(np.float32))


def direct_inverse(presence: sp.csr_matrix, l2: float) -> np.ndarray:
    x = presence.toarray().astype(np.float64)
    return np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))


def direct_pair(presence: sp.csr_matrix, liked: sp.csr_matrix, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Steck's EASE and the watched-to-liked EASE, straight from their closed forms in float64."""
    p = direct_inverse(presence, l2)
    binary = -p / np.diag(p)[None, :]
    np.fill_diagonal(binary, 0.0)
    fitted = p @ (presence.toarray().T.astype(np.float64) @ liked.toarray())
    liked_weights = fitted - p * (np.diag(fitted) / np.diag(p))[None, :]
    np.fill_diagonal(liked_weights, 0.0)
    return binary, liked_weights


@pytest.mark.parametrize("shape", [(30, 50), (60, 40)])  # fewer members than films, and more
def test_the_spectrum_gives_the_inverse_of_every_l2(shape):
    presence, _ = presence_and_liked(*shape, seed=1)
    spectrum = GramSpectrum(presence)
    assert spectrum.from_members == (shape[0] < shape[1])
    for l2 in (0.5, 3.0, 40.0):
        expected = direct_inverse(presence, l2)
        assert np.allclose(spectrum.inverse(l2), expected, atol=1e-5)
        assert np.allclose(spectrum.diagonal(l2), np.diag(expected), atol=1e-6)


@pytest.mark.parametrize("shape", [(30, 50), (60, 40)])
def test_spectral_scores_equal_ease_scores_away_from_the_seen_films(shape):
    presence, liked = presence_and_liked(*shape, seed=2)
    rows = np.array([0, 4, 7])
    spectrum = GramSpectrum(presence)
    unseen = presence[rows].toarray() == 0
    for l2 in (2.0, 25.0):
        binary, _ = direct_pair(presence, liked, l2)
        expected = presence[rows].toarray() @ binary
        # Coordinates from the rows' own films, and (members' side) from knowing which members they are.
        for coordinates in (spectrum.coordinates(presence[rows]), spectrum.coordinates(presence[rows], rows)):
            assert np.allclose(spectrum.scores(coordinates, l2)[unseen], expected[unseen], atol=1e-4)


def test_the_kernel_inverse_inverts_the_members_gram():
    presence, _ = presence_and_liked(20, 45, seed=3)
    kernel = member_gram(presence).astype(np.float64)
    assert np.allclose(kernel, presence.toarray() @ presence.toarray().T)
    inverse = GramSpectrum(presence).kernel_inverse(4.0)
    assert np.allclose(inverse @ (kernel + 4.0 * np.eye(20)), np.eye(20), atol=1e-4)


@pytest.mark.parametrize("shape", [(25, 40), (70, 30)])  # through the members' side, and the films' side
def test_both_ease_weight_matrices_equal_their_closed_forms(shape):
    presence, liked = presence_and_liked(*shape, seed=4)
    binary, liked_weights = direct_pair(presence, liked, 5.0)
    got_binary, got_liked = ease_pair(presence, liked, 5.0, kept=shape[1])
    assert np.allclose(np.asarray(got_binary), binary, atol=1e-4)
    assert np.allclose(np.asarray(got_liked), liked_weights, atol=1e-4)
    # Keeping the strongest weights per film keeps the same ones on either side.
    kept_binary, _ = ease_pair(presence, liked, 5.0, kept=5)
    strongest = np.sort(np.argsort(-np.abs(binary), axis=1)[:, :5], axis=1)
    assert np.array_equal(np.sort(kept_binary.tocsr().indices.reshape(-1, 5), axis=1), strongest)
