"""The one exception type the data package raises for bad, missing or corrupt data."""


class DatasetError(Exception):
    """A dataset could not be prepared or read; the message names the file and the fix."""
