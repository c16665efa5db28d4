"""Sky-region folds: disjoint, contiguous RA/Dec patches that cover the sample."""

import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.evaluation.crossval import resolve_folds
from astroclustermass.exceptions import InputError, MissingColumnError
from astroclustermass.sample import ClusterSample
from astroclustermass.sample.folds import make_folds, parse_fold_spec, sky_patch_index


def _in_box(ra, dec, box):
    in_ra = (ra - box["ra_lo"]) % 360.0 < box["ra_width"] if box["ra_width"] < 360 else True
    return in_ra & (dec >= box["dec_lo"]) & (dec < box["dec_hi"])


def _catalog(n, seed, ra0=0.0, width=30.0, dec0=-20.0, height=20.0):
    rng = np.random.default_rng(seed)
    ra = (ra0 + rng.uniform(-width / 2, width / 2, n)) % 360.0  # crosses RA = 0
    dec = dec0 + rng.uniform(-height / 2, height / 2, n)
    return Table({"ra": ra, "dec": dec})


@pytest.mark.parametrize("k", [2, 5, 8, 9, 16])
@pytest.mark.parametrize("geometry", [(0.0, 30.0, -20.0, 20.0), (180.0, 80.0, 60.0, 5.0),
                                      (90.0, 360.0, -80.0, 15.0)])  # fmt: skip
def test_patches_are_disjoint_contiguous_and_cover(k, geometry):
    cat = _catalog(400, k, *geometry)
    ra, dec = np.asarray(cat["ra"]), np.asarray(cat["dec"])
    index, boxes = sky_patch_index(cat, k)
    assert len(boxes) == k and set(index.tolist()) == set(range(k))
    sizes = np.bincount(index, minlength=k)
    assert sizes.max() - sizes.min() <= 1  # about equal counts
    # contiguous: each patch is an RA/Dec box holding its clusters and no other's
    member = np.array([_in_box(ra, dec, b) for b in boxes])
    np.testing.assert_array_equal(np.argmax(member, axis=0), index)
    assert (member.sum(axis=0) == 1).all()  # the boxes do not overlap where clusters are
    # the boxes tile the sphere: random points fall in exactly one
    rng = np.random.default_rng(0)
    pra, pdec = rng.uniform(0, 360, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))
    assert (np.array([_in_box(pra, pdec, b) for b in boxes]).sum(axis=0) == 1).all()
    # folds: disjoint test sets that cover the sample, train = the rest
    folds = make_folds(cat, "sky", k=k)
    tests = np.concatenate([t for _, t in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(cat)))
    for tr, te in folds:
        assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == len(cat)


def test_neighbours_share_a_fold_far_more_than_in_random_folds():
    cat = _catalog(600, 1)
    ra, dec = np.radians(cat["ra"]), np.radians(cat["dec"])
    xyz = np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    nearest = np.argsort(-(xyz @ xyz.T), axis=1)[:, 1]

    def same(folds):
        fold = np.empty(len(cat), int)
        for i, (_, te) in enumerate(folds):
            fold[te] = i
        return np.mean(fold == fold[nearest])

    assert same(make_folds(cat, "sky:8")) > 0.8
    assert same(make_folds(cat, 8, seed=0)) < 0.3


def test_one_parser_and_the_sample_and_crossval_paths():
    assert parse_fold_spec("sky") == "sky:8" and parse_fold_spec("sky:3") == "sky:3"
    for bad in ("sky:1", "sky:x", "skyy"):
        with pytest.raises(InputError, match="'sky:N'"):
            parse_fold_spec(bad)
    cat = _catalog(40, 2)
    cat["redshift"] = 0.1
    s = ClusterSample.from_arrays(cat, images={"bolometric": np.zeros((40, 1, 4, 4), np.int32)})
    a = s.folds("sky", k=4)
    b = resolve_folds(s, "sky:4")
    assert len(a) == 4 and all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    with pytest.raises(MissingColumnError, match="sky folds need the columns ra, dec"):
        sky_patch_index(Table({"x": [1.0, 2.0]}), 2)
    with pytest.raises(InputError, match="between 2 and the sample size 40"):
        s.folds("sky", k=41)
    with pytest.raises(MissingColumnError, match="folds\\(kind='sky'\\)"):
        s.folds("octant")
