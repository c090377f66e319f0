"""Duplicate and near-duplicate photos of a listing, by perceptual hash (dHash).

The difference hash (``imagehash.dhash``, 64 bits) survives resizing, re-compression and
small colour changes; two photos whose hashes differ in at most :data:`NEAR_BITS` bits are
near-duplicates (the same shot, re-uploaded or lightly edited).
"""

from __future__ import annotations

from collections.abc import Mapping

from estimo.photos._deps import require

imagehash = require("imagehash")
Image = require("PIL.Image")

NEAR_BITS = 6


def photo_hash(image: Image.Image) -> str:
    """The 64-bit difference hash of a photo, as 16 hex digits.

    >>> from PIL import Image
    >>> photo_hash(Image.new("RGB", (32, 32), "white"))
    '0000000000000000'
    """
    return str(imagehash.dhash(image, hash_size=8))


def hash_distance(a: str, b: str) -> int:
    """Number of differing bits between two hashes from :func:`photo_hash`.

    >>> hash_distance("00000000000000ff", "0000000000000000")
    8
    """
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def duplicate_groups(hashes: Mapping[str, str], max_bits: int = NEAR_BITS) -> list[list[str]]:
    """Groups of photos that are duplicates or near-duplicates of each other.

    Parameters
    ----------
    hashes : Mapping
        Photo name -> hash from :func:`photo_hash`.
    max_bits : int
        Largest hash distance still counted as a near-duplicate.

    Returns
    -------
    list of list of str
        Each group (two names or more) in input order; groups ordered by their first photo.

    Examples
    --------
    >>> duplicate_groups({"a": "ff00", "b": "ff01", "c": "00ff"})
    [['a', 'b']]
    """
    names = list(hashes)
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if hash_distance(hashes[a], hashes[b]) <= max_bits:
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(root(name), []).append(name)
    return [group for group in groups.values() if len(group) > 1]
