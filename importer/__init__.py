"""gphotos-importer: Google Photos (Takeout) into Immich, PhotoPrism or a folder library."""

__version__ = "0.1.0"
