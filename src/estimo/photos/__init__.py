"""Seller photos: room types, the listing checklist, privacy and label quality.

Needs the ``estimo[photos]`` extra (``pip install 'estimo[photos]'``); nothing here is
imported by the core package. Entry points:

- :func:`estimo.photos.check.check_listing`: room type of each photo, checklist of required
  rooms (present, doubtful, missing), duplicates, faces blurred and metadata removed;
- :mod:`estimo.photos.labels`: probably-mislabelled training photos and which unlabelled
  photos to label first;
- :func:`estimo.photos.api.photos_router`: ``POST /v1/photos/check`` for the service;
- ``scripts/train_photos.py`` rebuilds the shipped room model
  (``estimo/photos/model/room_model.json``).
"""
