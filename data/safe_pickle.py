"""The one way the project reads a pickle: only numpy arrays and plain containers, nothing that runs code.

The source files of MNIST (the wheel's mnist.pkl.gz) and CIFAR-10 (the batch pickles) hold numpy arrays, lists,
dicts and bytes. Any other global a pickle names (os.system, builtins.eval, …) is refused before it is looked up,
so a tampered file fails with `pickle.UnpicklingError` instead of running anything, checksum or not.
"""

from __future__ import annotations

import io
import pickle

ALLOWED = frozenset({
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes under protocol 2
})  # fmt: skip


class ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        # Python-2 era pickles name numpy.core, which numpy 2 renamed to numpy._core.
        module = module.replace("numpy.core.", "numpy._core.", 1)
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"the pickle names {module}.{name}, which is not a numpy array part")
        return super().find_class(module, name)


def load_arrays(payload: bytes, encoding: str = "ASCII") -> object:
    """Unpickle `payload` allowing only numpy arrays and plain containers (`encoding` as for pickle.loads)."""
    return ArrayUnpickler(io.BytesIO(payload), encoding=encoding).load()
