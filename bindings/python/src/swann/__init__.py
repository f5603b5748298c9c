"""swann: Python binding of the swann neural-network runtime (ctypes + numpy).

The C library ``libswann.so`` is found through ``$SWANN_LIBRARY``, a copy shipped
inside this package (``swann/_lib/libswann.so``), then the system's library path;
importing fails with an ImportError that lists the places tried when no
compatible library is found.

Example::

    import swann
    net = swann.Net({"input": 64,
                     "layers": [{"units": 128, "activation": "relu"},
                                {"units": 10, "activation": "softmax"}],
                     "loss": "cross_entropy",
                     "optimizer": {"type": "adam", "lr": 1e-3},
                     "seed": 0}, max_batch=128)
    history = net.fit(X, labels, epochs=20, batch_size=32, validation=(Xv, yv))
    probabilities = net.predict(Xv)
"""

from ._core import Net, Status, SwannError, lib as _lib
from ._model import Model

__all__ = ["Net", "Model", "SwannError", "Status", "library_version", "library_path", "__version__"]

#: Version of this Python package.
__version__: str = "0.1.0"

#: Version string of the loaded C library (``swann_version()``).
library_version: str = _lib.version

#: File the C library was loaded from.
library_path: str = _lib.path
